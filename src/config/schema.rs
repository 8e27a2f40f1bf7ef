//! The one description of `raijin.toml`: every section, its known keys, their types,
//! ranges and allowed values, and which are required. Unknown-key detection, type checks,
//! "did you mean" suggestions and missing-key reports all read these tables.

use super::model::{AppKind, TlsMode};

/// What a key's value must look like.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A non-empty string.
    Str,
    /// A non-empty string naming a file; relative paths are resolved against the config
    /// file's directory and `~/` is expanded.
    Path,
    /// An integer in `min..=max`.
    Int { min: i64, max: i64 },
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// An array of non-empty strings.
    StrList,
    /// A table with the keys of this section.
    Table(&'static Section),
    /// A table of named tables, each with the keys of this section (`[hosts.NAME]`).
    Named(&'static Section),
    /// A table of free-form keys with string values (`[apps.NAME.env]`).
    FreeStrings,
    /// A table of free-form keys whose values are a non-empty string or an array of them
    /// (`[ui.keymap]`).
    FreeKeys,
    /// A non-empty string, or a table with the keys of this section.
    StrOrTable(&'static Section),
    /// A key raijin no longer reads: a warning says so (the field's note says what to
    /// do instead), and nothing suggests it.
    Retired,
}

impl Kind {
    /// "expected ..." wording.
    pub(crate) fn expected(self) -> &'static str {
        match self {
            Kind::Str | Kind::Path | Kind::Enum(_) => "a string",
            Kind::Int { .. } => "an integer",
            Kind::StrList => "an array of strings",
            Kind::Table(_) | Kind::Named(_) | Kind::FreeStrings | Kind::FreeKeys => "a table",
            Kind::StrOrTable(_) => "a string or a table",
            Kind::Retired => "nothing (the key is no longer read)",
        }
    }
}

/// One known key.
#[derive(Debug)]
pub(crate) struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// Shown as "add `...`" when a required key is missing.
    pub example: &'static str,
    /// Extra explanation shown when the value is out of range or not allowed.
    pub note: Option<&'static str>,
}

/// The known keys of one kind of table.
#[derive(Debug)]
pub(crate) struct Section {
    /// How the table is written in the file, for hints: `[hosts.NAME]`.
    pub title: &'static str,
    pub fields: &'static [Field],
}

impl Section {
    pub(crate) fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The keys this section reads (not the retired ones).
    pub(crate) fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields
            .iter()
            .filter(|f| !matches!(f.kind, Kind::Retired))
            .map(|f| f.name)
    }
}

const fn field(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
        example: "",
        note: None,
    }
}

const fn required(name: &'static str, kind: Kind, example: &'static str) -> Field {
    Field {
        name,
        kind,
        required: true,
        example,
        note: None,
    }
}

const fn noted(name: &'static str, kind: Kind, note: &'static str) -> Field {
    Field {
        name,
        kind,
        required: false,
        example: "",
        note: Some(note),
    }
}

const fn retired(name: &'static str, note: &'static str) -> Field {
    Field {
        name,
        kind: Kind::Retired,
        required: false,
        example: "",
        note: Some(note),
    }
}

const PORT: Kind = Kind::Int { min: 1, max: 65535 };
const SECONDS: Kind = Kind::Int {
    min: 1,
    max: i64::MAX,
};

pub(crate) static ROOT: Section = Section {
    title: "the top level",
    fields: &[
        field("ssh", Kind::Table(&SSH)),
        field("hosts", Kind::Named(&HOST)),
        field("apps", Kind::Named(&APP)),
        field("secrets", Kind::Table(&SECRETS)),
        field("ui", Kind::Table(&UI)),
    ],
};

pub(crate) static SSH: Section = Section {
    title: "[ssh]",
    fields: &[
        field("config_file", Kind::Path),
        field("connect_timeout_secs", SECONDS),
        field("keepalive_interval_secs", SECONDS),
        field(
            "keepalive_max",
            Kind::Int {
                min: 1,
                max: u32::MAX as i64,
            },
        ),
    ],
};

pub(crate) static HOST: Section = Section {
    title: "[hosts.NAME]",
    fields: &[
        field("address", Kind::Str),
        field("user", Kind::Str),
        field("port", PORT),
        field("identity_file", Kind::Path),
        field("known_hosts", Kind::Path),
        field("proxy_jump", Kind::Str),
    ],
};

pub(crate) static APP: Section = Section {
    title: "[apps.NAME]",
    fields: &[
        required("hosts", Kind::StrList, "hosts = [\"web1\"]"),
        field("build", Kind::Str),
        required(
            "artifact",
            Kind::Path,
            "artifact = \"target/release/myapp\"",
        ),
        required("kind", Kind::Enum(&AppKind::NAMES), "kind = \"binary\""),
        field("version", Kind::StrOrTable(&VERSION)),
        noted(
            "versions_to_keep",
            Kind::Int {
                min: 2,
                max: u32::MAX as i64,
            },
            "the current release and the previous one are always kept, so rollback needs at least 2",
        ),
        field("batch", Kind::Str),
        field("user", Kind::Str),
        field("env_file", Kind::Path),
        field("env", Kind::FreeStrings),
        field("processes", Kind::Named(&PROCESS)),
        field("proxy", Kind::Table(&PROXY)),
        field("hooks", Kind::Table(&HOOKS)),
    ],
};

/// `version = { command = "..." }` or `version = { fixed = "..." }`.
pub(crate) static VERSION: Section = Section {
    title: "version = { ... }",
    fields: &[field("command", Kind::Str), field("fixed", Kind::Str)],
};

pub(crate) static PROCESS: Section = Section {
    title: "[apps.NAME.processes.PROC]",
    fields: &[
        required("command", Kind::Str, "command = \"./myapp serve\""),
        field("socket", Kind::Str),
        field("timer", Kind::Str),
        field(
            "replicas",
            Kind::Int {
                min: 1,
                max: u32::MAX as i64,
            },
        ),
    ],
};

pub(crate) static PROXY: Section = Section {
    title: "[apps.NAME.proxy]",
    fields: &[
        required("domain", Kind::Str, "domain = \"example.com\""),
        field("process", Kind::Str),
        field("port", PORT),
        field("health_path", Kind::Str),
        field("health_timeout_secs", Kind::Int { min: 1, max: 3600 }),
        field("tls", Kind::Enum(&TlsMode::NAMES)),
        field("drain_secs", Kind::Int { min: 0, max: 3600 }),
    ],
};

pub(crate) static HOOKS: Section = Section {
    title: "[apps.NAME.hooks]",
    fields: &[
        field("pre_install", Kind::Str),
        field("post_install", Kind::Str),
        field("post_activate", Kind::Str),
        field("on_failure", Kind::Str),
    ],
};

pub(crate) static SECRETS: Section = Section {
    title: "[secrets]",
    fields: &[
        // Each reference names its store; a store for all of them meant nothing.
        retired(
            "adapter",
            "each reference names its store (keyring:, op://, bw:, doppler:, env:, cmd:); remove the line",
        ),
        field("options", Kind::Table(&SECRETS_OPTIONS)),
        field("timeout_secs", SECONDS),
    ],
};

/// `[secrets.options]`: the settings the adapters read (`secrets::OPTION_KEYS`).
pub(crate) static SECRETS_OPTIONS: Section = Section {
    title: "[secrets.options]",
    fields: &[
        noted(
            "bw_password_env",
            Kind::Str,
            "the name of an environment variable holding the Bitwarden master password",
        ),
        noted(
            "bw_sync",
            Kind::Enum(&["true", "false"]),
            "run `bw sync` before reading",
        ),
        field("doppler_project", Kind::Str),
        field("doppler_config", Kind::Str),
    ],
};

pub(crate) static UI: Section = Section {
    title: "[ui]",
    fields: &[field("theme", Kind::Str), field("keymap", Kind::FreeKeys)],
};

/// Every section, for "this key belongs in another table" hints and for tests.
pub(crate) static ALL: [&Section; 11] = [
    &ROOT,
    &SSH,
    &HOST,
    &APP,
    &VERSION,
    &PROCESS,
    &PROXY,
    &HOOKS,
    &SECRETS,
    &SECRETS_OPTIONS,
    &UI,
];

/// Sections other than `here` that know a key called `name`.
pub(crate) fn sections_with(name: &str, here: &Section) -> Vec<&'static Section> {
    ALL.iter()
        .copied()
        .filter(|s| !std::ptr::eq(*s, here) && s.names().any(|n| n == name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../config.example.toml");

    #[test]
    fn field_names_are_unique_per_section() {
        for section in ALL {
            let mut names: Vec<_> = section.fields.iter().map(|f| f.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), section.fields.len(), "{}", section.title);
        }
    }

    #[test]
    fn required_fields_have_an_example() {
        for section in ALL {
            for f in section.fields {
                assert_eq!(f.required, !f.example.is_empty(), "{}", f.name);
            }
        }
    }

    /// `config.example.toml` documents every key: each appears as `key =` (possibly
    /// commented out) or in a table header, next to a comment. Retired keys are not
    /// shown at all.
    #[test]
    fn example_mentions_every_key() {
        for section in ALL {
            for f in section.fields {
                if matches!(f.kind, Kind::Retired) {
                    assert!(
                        !EXAMPLE.contains(&format!("{} =", f.name)),
                        "config.example.toml still shows the retired `{}`",
                        f.name
                    );
                    continue;
                }
                let as_key = EXAMPLE.lines().any(|line| {
                    let line = line.trim_start_matches(['#', ' ']);
                    line.starts_with(&format!("{} =", f.name))
                        || line.starts_with(&format!("{}.", f.name))
                        || (line.starts_with('[') && line.contains(f.name))
                        || line.contains(&format!("{{ {} =", f.name))
                });
                assert!(
                    as_key,
                    "config.example.toml does not show `{}` of {}",
                    f.name, section.title
                );
            }
        }
    }

    #[test]
    fn misplaced_key_lookup() {
        let found: Vec<_> = sections_with("port", &APP)
            .iter()
            .map(|s| s.title)
            .collect();
        assert_eq!(found, ["[hosts.NAME]", "[apps.NAME.proxy]"]);
    }

    #[test]
    fn secrets_options_match_what_the_adapters_read() {
        let known: Vec<_> = SECRETS_OPTIONS.names().collect();
        assert_eq!(known, crate::secrets::OPTION_KEYS);
        assert!(sections_with("adress", &HOST).is_empty());
    }
}
