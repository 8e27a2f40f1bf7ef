//! `raijin init`: a first `raijin.toml` for the project in a directory. It looks at
//! what is there (a Cargo binary crate, a python project with `pyproject.toml`, a
//! built static site) and writes a commented file with one app, its build command,
//! artifact, process and Caddy site filled in. The only thing left to fill in is a
//! host: until then `raijin config check` says so.

use std::path::{Path, PathBuf};

use super::model::AppKind;

/// What `init` found (or was told) about the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub kind: AppKind,
    /// The app name (letters, digits, `-`, `_`; a valid unix user name).
    pub name: String,
    /// Local build command, if the project has one.
    pub build: Option<String>,
    /// What to ship, relative to the project directory.
    pub artifact: String,
    /// The web process's command (binary and python apps).
    pub command: Option<String>,
    /// Where the facts came from, for the file's first comment.
    pub found: String,
}

/// Why no config was written.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(
        "{0} already exists; raijin init never overwrites a file (edit it, or remove it first)"
    )]
    Exists(PathBuf),
    #[error(
        "cannot tell what kind of project {0} is (no Cargo.toml with a binary, no pyproject.toml, no directory with an index.html): pass --kind binary|python|static"
    )]
    Unknown(PathBuf),
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Directories a static site is commonly built into, in the order looked at.
const SITE_DIRS: &[&str] = &[
    "dist",
    "public",
    "build",
    "_site",
    "site",
    "out",
    "docs/book",
];

/// Port the generated web process listens on (slot a; slot b on port + 10000).
const PORT: u16 = 8000;

/// Look at `dir`: the project of `kind`, or of the first kind found.
pub fn detect(dir: &Path, kind: Option<AppKind>) -> Result<Project, InitError> {
    let found = match kind {
        Some(AppKind::Binary) => Some(cargo(dir)?.unwrap_or_else(|| binary_template(dir))),
        Some(AppKind::Python) => Some(python(dir)?.unwrap_or_else(|| python_template(dir))),
        Some(AppKind::Static) => Some(static_site(dir).unwrap_or_else(|| static_template(dir))),
        None => match cargo(dir)? {
            Some(p) => Some(p),
            None => match python(dir)? {
                Some(p) => Some(p),
                None => static_site(dir),
            },
        },
    };
    found.ok_or_else(|| InitError::Unknown(dir.to_path_buf()))
}

fn read_toml(path: &Path) -> Result<Option<toml::Table>, InitError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.parse::<toml::Table>().ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(InitError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn get<'a>(t: &'a toml::Table, path: &[&str]) -> Option<&'a toml::Value> {
    let (last, rest) = path.split_last()?;
    let mut table = t;
    for key in rest {
        table = table.get(*key)?.as_table()?;
    }
    table.get(*last)
}

/// A Cargo package with a binary: its first `[[bin]]`, else the package itself
/// when it has `src/main.rs`.
fn cargo(dir: &Path) -> Result<Option<Project>, InitError> {
    let Some(t) = read_toml(&dir.join("Cargo.toml"))? else {
        return Ok(None);
    };
    let package = get(&t, &["package", "name"]).and_then(|v| v.as_str());
    let first_bin = t
        .get("bin")
        .and_then(|b| b.as_array())
        .and_then(|a| a.first())
        .and_then(|b| b.get("name"))
        .and_then(|n| n.as_str());
    let bin = match (first_bin, package) {
        (Some(b), _) => b,
        (None, Some(p)) if dir.join("src/main.rs").is_file() => p,
        _ => return Ok(None),
    };
    let locked = if dir.join("Cargo.lock").is_file() {
        " --locked"
    } else {
        ""
    };
    Ok(Some(Project {
        kind: AppKind::Binary,
        name: app_name(package.unwrap_or(bin)),
        build: Some(format!("cargo build --release{locked} --bin {bin}")),
        artifact: format!("target/release/{bin}"),
        command: Some(format!("./{bin}")),
        found: format!("the Cargo binary `{bin}`"),
    }))
}

/// A python project: `[project] name`, and its first `[project.scripts]` entry as
/// the command. The build makes wheels of it and its dependencies, so the hosts
/// install it without a package index.
fn python(dir: &Path) -> Result<Option<Project>, InitError> {
    let Some(t) = read_toml(&dir.join("pyproject.toml"))? else {
        return Ok(None);
    };
    let name = get(&t, &["project", "name"])
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| dir_name(dir));
    let script = get(&t, &["project", "scripts"])
        .and_then(|s| s.as_table())
        .and_then(|s| s.keys().next().cloned());
    let command = script.unwrap_or_else(|| format!("python -m {}", name.replace('-', "_")));
    Ok(Some(Project {
        kind: AppKind::Python,
        name: app_name(&name),
        build: Some(PYTHON_BUILD.to_string()),
        artifact: "dist".into(),
        command: Some(command),
        found: format!("the python project `{name}` (pyproject.toml)"),
    }))
}

const PYTHON_BUILD: &str = "rm -rf dist && python3 -m pip wheel --quiet --wheel-dir dist .";

/// A directory with an `index.html`: one of [`SITE_DIRS`], else `dir` itself.
fn static_site(dir: &Path) -> Option<Project> {
    let site = SITE_DIRS
        .iter()
        .find(|d| dir.join(d).join("index.html").is_file())
        .map(|d| d.to_string())
        .or_else(|| dir.join("index.html").is_file().then(|| ".".to_string()))?;
    Some(Project {
        kind: AppKind::Static,
        name: app_name(&dir_name(dir)),
        build: None,
        found: format!("a static site in `{site}`"),
        artifact: site,
        command: None,
    })
}

fn binary_template(dir: &Path) -> Project {
    let name = app_name(&dir_name(dir));
    Project {
        kind: AppKind::Binary,
        build: None,
        artifact: format!("target/release/{name}"),
        command: Some(format!("./{name}")),
        found:
            "nothing to read the details from (--kind binary): check build, artifact and command"
                .into(),
        name,
    }
}

fn python_template(dir: &Path) -> Project {
    let name = app_name(&dir_name(dir));
    Project {
        kind: AppKind::Python,
        build: Some(PYTHON_BUILD.to_string()),
        artifact: "dist".into(),
        command: Some(name.clone()),
        found: "no pyproject.toml (--kind python): check the command".into(),
        name,
    }
}

fn static_template(dir: &Path) -> Project {
    Project {
        kind: AppKind::Static,
        name: app_name(&dir_name(dir)),
        build: None,
        artifact: "dist".into(),
        command: None,
        found: "no directory with an index.html (--kind static): check the artifact".into(),
    }
}

fn dir_name(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "app".into())
}

/// A name that is both a valid app name and a valid unix user (the app's default
/// user): lowercase letters, digits, `-` and `_`, starting with a letter, at most 32.
pub fn app_name(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    s = s.trim_matches(['-', '_']).to_string();
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        s = format!("app-{s}").trim_end_matches('-').to_string();
    }
    s.truncate(32);
    s.trim_end_matches(['-', '_']).to_string()
}

/// The commented `raijin.toml` for `p`.
pub fn render(p: &Project) -> String {
    let name = &p.name;
    let mut s = format!(
        "# raijin.toml for {name}, written by `raijin init` from {found}.\n\
         # Every key, with its default: config.example.toml in raijin's repository.\n\
         #\n\
         # Left to do: add a host (below) and name it in `hosts`, then\n\
         #   raijin config check\n\
         #   raijin host bootstrap web1\n\
         #   raijin deploy {name}\n\
         \n\
         # One table per server. Without `address`, the name is a Host alias of\n\
         # ~/.ssh/config (HostName, User, Port, IdentityFile, ProxyJump come from there).\n\
         # [hosts.web1]\n\
         # address = \"203.0.113.10\"\n\
         # user = \"deploy\"\n\
         \n\
         [apps.{name}]\n\
         # The hosts to deploy to, e.g. [\"web1\"].\n\
         hosts = []\n",
        found = p.found,
    );
    match &p.build {
        Some(b) => s.push_str(&format!(
            "# Run locally before each deploy, in this directory.\nbuild = {}\n",
            quote(b)
        )),
        None => s.push_str("# A local build command run before each deploy, if the artifact needs one.\n# build = \"npm run build\"\n"),
    }
    let what = match p.kind {
        AppKind::Binary => "the executable",
        AppKind::Python => "the directory of wheels (the app's and its dependencies')",
        AppKind::Static => "the directory Caddy serves",
    };
    s.push_str(&format!(
        "# What to ship: {what}.\nartifact = {}\nkind = \"{}\"\n\
         # The version id of a release: git describe (the default); or\n\
         # version = {{ fixed = \"1.0.0\" }}, or pass --version to deploy.\n\
         # version = \"git\"\n\
         # Releases kept on each host for rollback.\n\
         versions_to_keep = 5\n",
        quote(&p.artifact),
        p.kind.as_str()
    ));
    s.push_str(&format!(
        "\n# The app's environment (plain values or secret references such as\n\
         # \"keyring:{name}/TOKEN\" or \"env:TOKEN\", resolved at deploy time).\n\
         [apps.{name}.env]\n\
         # LOG_LEVEL = \"info\"\n"
    ));
    if let Some(cmd) = &p.command {
        s.push_str(&format!(
            "\n# The web process. It must listen on 127.0.0.1:$PORT: raijin starts a new\n\
             # release beside the old one, on the other slot's port, and moves the traffic\n\
             # once it is healthy.\n\
             [apps.{name}.processes.web]\n\
             command = {}\n",
            quote(cmd)
        ));
    }
    s.push_str(&format!(
        "\n# The Caddy site in front of the app. A name under .localhost serves plain HTTP\n\
         # for a first try; with your own domain Caddy gets certificates by itself.\n\
         [apps.{name}.proxy]\n\
         domain = \"{name}.localhost\"\n"
    ));
    if p.command.is_some() {
        s.push_str(&format!(
            "process = \"web\"\nport = {PORT}\n\
             # Must answer 2xx before a new release gets traffic.\n\
             health_path = \"/\"\n"
        ));
    }
    s
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Write the config for the project in `dir` to `path`, refusing to overwrite.
pub fn write(dir: &Path, path: &Path, kind: Option<AppKind>) -> Result<Project, InitError> {
    if path.exists() {
        return Err(InitError::Exists(path.to_path_buf()));
    }
    let project = detect(dir, kind)?;
    let text = render(&project);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => InitError::Exists(path.to_path_buf()),
            _ => InitError::Write {
                path: path.to_path_buf(),
                source,
            },
        })?;
    use std::io::Write as _;
    f.write_all(text.as_bytes())
        .map_err(|source| InitError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(project)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rendered file with a host added loads without a problem.
    fn loads_with_a_host(p: &Project) -> crate::config::Config {
        let text = render(p)
            .replace("hosts = []", "hosts = [\"web1\"]")
            .replace("# [hosts.web1]\n# address", "[hosts.web1]\naddress");
        crate::config::load_str(&text, Path::new("raijin.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn a_cargo_binary_crate() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("Cargo.toml"),
            "[package]\nname = \"My_Tool\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        std::fs::create_dir(d.path().join("src")).unwrap();
        std::fs::write(d.path().join("src/main.rs"), "fn main() {}\n").unwrap();
        let p = detect(d.path(), None).unwrap();
        assert_eq!(p.kind, AppKind::Binary);
        assert_eq!(p.name, "my_tool");
        assert_eq!(p.artifact, "target/release/My_Tool");
        assert_eq!(
            p.build.as_deref(),
            Some("cargo build --release --bin My_Tool")
        );
        let c = loads_with_a_host(&p);
        let app = &c.apps["my_tool"];
        assert_eq!(app.processes["web"].command, "./My_Tool");
        // Without a host, config check names what is missing.
        let err = crate::config::load_str(&render(&p), Path::new("raijin.toml")).unwrap_err();
        assert!(err.to_string().contains("at least one host"), "{err}");
    }

    #[test]
    fn a_library_crate_is_not_a_binary() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("Cargo.toml"), "[package]\nname = \"lib\"\n").unwrap();
        assert!(matches!(detect(d.path(), None), Err(InitError::Unknown(_))));
    }

    #[test]
    fn a_python_project_with_a_script() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("pyproject.toml"),
            "[project]\nname = \"py-hello\"\n[project.scripts]\npyhello = \"x:main\"\n",
        )
        .unwrap();
        let p = detect(d.path(), None).unwrap();
        assert_eq!((p.kind, p.name.as_str()), (AppKind::Python, "py-hello"));
        assert_eq!(p.command.as_deref(), Some("pyhello"));
        loads_with_a_host(&p);
    }

    #[test]
    fn a_built_static_site() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("public")).unwrap();
        std::fs::write(d.path().join("public/index.html"), "hi").unwrap();
        let p = detect(d.path(), None).unwrap();
        assert_eq!((p.kind, p.artifact.as_str()), (AppKind::Static, "public"));
        let c = loads_with_a_host(&p);
        assert!(c.apps.values().all(|a| a.processes.is_empty()));
    }

    #[test]
    fn a_given_kind_without_anything_to_read_gives_a_template() {
        let d = tempfile::tempdir().unwrap();
        for kind in [AppKind::Binary, AppKind::Python, AppKind::Static] {
            loads_with_a_host(&detect(d.path(), Some(kind)).unwrap());
        }
        assert!(matches!(detect(d.path(), None), Err(InitError::Unknown(_))));
    }

    #[test]
    fn names_become_app_and_user_names() {
        assert_eq!(app_name("My Site.com"), "my-site-com");
        assert_eq!(app_name("9lives"), "app-9lives");
        assert_eq!(app_name("__x__"), "x");
    }

    #[test]
    fn an_existing_file_is_never_overwritten() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("raijin.toml");
        std::fs::write(&path, "keep me").unwrap();
        assert!(matches!(
            write(d.path(), &path, Some(AppKind::Static)),
            Err(InitError::Exists(_))
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
    }
}
