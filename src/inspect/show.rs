//! What a release installs (`raijin app show APP units|caddy|env|hooks`): from a
//! host, the files its current release installed; without one, the files a deploy
//! of the local configuration would render. Environment values never show in the
//! clear unless the configuration holds them as plain text: secret references (and
//! any value on a host that differs from the configured plain one, since it may
//! have been a secret when it was deployed) are `****`.

use serde::Serialize;

use crate::config::{AppConfig, SecretRef};
use crate::deploy::plan::{env_quote, env_vars};
use crate::engine::{Engine, HostError, LookupError};
use crate::remote::scripts::show::{self as scripts, Part};
use crate::remote::{Layout, caddy, slots, units};

/// What a masked value shows.
pub const MASK: &str = "****";

/// Which part of a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShowPart {
    Units,
    Caddy,
    Env,
    Hooks,
}

/// One file, with the path it has (or would have) on a host.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ShownFile {
    pub path: String,
    pub contents: String,
}

/// The answer.
#[derive(Clone, Debug, Serialize, Default)]
pub struct Shown {
    /// The host read; none for the local preview.
    pub host: Option<String>,
    /// The host's current release.
    pub release: Option<String>,
    pub files: Vec<ShownFile>,
    /// Something to know about the answer (where hooks come from, an app without a
    /// Caddy site, ...).
    pub note: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Host(#[from] HostError),
    #[error("app {app} is not deployed on {host}")]
    NotDeployed { app: String, host: String },
    #[error("{0}")]
    Local(String),
}

/// `part` of the current release of `app` on `host`, or of a deploy of the local
/// configuration when `host` is None.
pub async fn show(
    engine: &Engine,
    app: &str,
    part: ShowPart,
    host: Option<&str>,
) -> Result<Shown, ShowError> {
    let app = engine.app(app)?;
    let Some(host) = host else {
        return preview(app, part);
    };
    let host = engine.host(&engine.host_of(app, Some(host))?)?;
    let remote = match part {
        ShowPart::Units => Part::Units,
        ShowPart::Caddy => Part::Caddy,
        ShowPart::Env => Part::Env,
        ShowPart::Hooks => {
            let mut shown = preview(app, part)?;
            shown.host = Some(host.host.clone());
            shown.note = Some(
                "hooks run from the configuration during a deploy and are not kept on hosts: these are the configured ones".into(),
            );
            return Ok(shown);
        }
    };
    let layout = Layout::new(&app.name);
    let out = host
        .script(
            "reading the current release's files",
            &scripts::show(&layout, remote),
        )
        .await?;
    let (release, mut files) = parse_files(&out.stdout);
    let Some(release) = release else {
        return Err(ShowError::NotDeployed {
            app: app.name.clone(),
            host: host.host.clone(),
        });
    };
    if part == ShowPart::Env {
        let configured = env_vars(app).unwrap_or_default();
        for f in &mut files {
            f.contents = mask_host_env(&f.contents, &configured);
        }
    }
    let note = (files.is_empty() && part == ShowPart::Caddy)
        .then(|| "the current release has no Caddy site".to_string());
    Ok(Shown {
        host: Some(host.host.clone()),
        release: Some(release),
        files,
        note,
    })
}

/// What a deploy of the local configuration would install.
fn preview(app: &AppConfig, part: ShowPart) -> Result<Shown, ShowError> {
    let layout = Layout::new(&app.name);
    let mut shown = Shown::default();
    match part {
        ShowPart::Units => {
            let mut all = units::render_units(app, &layout);
            if slots::process(app).is_some() {
                for slot in slots::SLOTS {
                    all.extend(units::render_slot_units(app, &layout, slot));
                }
            }
            shown.files = all
                .into_iter()
                .map(|u| ShownFile {
                    path: layout.unit_path(&u.name),
                    contents: u.contents,
                })
                .collect();
        }
        ShowPart::Caddy => {
            let ports = slots::ports(app, "a");
            match caddy::render_site(app, &layout, &ports) {
                Some(site) => {
                    if slots::process(app).is_some() {
                        shown.note = Some(
                            "as it sends the traffic to slot a; slot b's site differs in its ports"
                                .into(),
                        );
                    }
                    shown.files.push(ShownFile {
                        path: layout.caddy_site_path(),
                        contents: site,
                    });
                }
                None => shown.note = Some(format!("app {} has no Caddy site", app.name)),
            }
        }
        ShowPart::Env => {
            let vars = env_vars(app).map_err(|e| ShowError::Local(format!("{e:#}")))?;
            let mut text = String::new();
            for (k, v) in &vars {
                let shown = if is_reference(v) {
                    MASK.to_string()
                } else {
                    env_quote(v)
                };
                text.push_str(&format!("{k}={shown}\n"));
            }
            text.push_str(&format!("RAIJIN_APP={}\n", env_quote(&app.name)));
            text.push_str("RAIJIN_VERSION=(the version deployed)\n");
            shown.files.push(ShownFile {
                path: layout.env_file(),
                contents: text,
            });
        }
        ShowPart::Hooks => {
            let h = &app.hooks;
            let mut text = String::new();
            for (name, cmd) in [
                ("pre_install", &h.pre_install),
                ("post_install", &h.post_install),
                ("post_activate", &h.post_activate),
                ("on_failure", &h.on_failure),
            ] {
                if let Some(cmd) = cmd {
                    text.push_str(&format!("{name} = {cmd}\n"));
                }
            }
            if text.is_empty() {
                shown.note = Some(format!("app {} has no hooks", app.name));
            } else {
                shown.files.push(ShownFile {
                    path: format!("[apps.{}.hooks]", app.name),
                    contents: text,
                });
            }
        }
    }
    Ok(shown)
}

fn is_reference(value: &str) -> bool {
    !matches!(SecretRef::parse(value), Ok(None))
}

/// Parse what [`scripts::show`] printed: the current release and the files.
fn parse_files(out: &[u8]) -> (Option<String>, Vec<ShownFile>) {
    let mut release = None;
    let mut files = Vec::new();
    let mut rest = out;
    while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
        let line = String::from_utf8_lossy(&rest[..nl]).into_owned();
        rest = &rest[nl + 1..];
        let parts: Vec<&str> = line.split('\t').collect();
        match parts.as_slice() {
            ["current", id] => release = Some(id.to_string()).filter(|s| !s.is_empty()),
            ["file", path, size] => {
                let n = size.parse::<usize>().unwrap_or(0).min(rest.len());
                files.push(ShownFile {
                    path: path.to_string(),
                    contents: String::from_utf8_lossy(&rest[..n]).into_owned(),
                });
                // The contents, then the newline that ends the frame.
                rest = rest.get(n + 1..).unwrap_or_default();
            }
            _ => {}
        }
    }
    (release, files)
}

/// The variables of an environment file as raijin writes it (`KEY="value"`, with
/// `\"`, `\\`, `\$` and `` \` `` escaped and line breaks kept inside the quotes).
pub fn parse_env(text: &str) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let mut key = String::new();
        for c in chars.by_ref() {
            if c == '=' || c == '\n' {
                break;
            }
            key.push(c);
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
            // The rest of the line after the closing quote.
            for c in chars.by_ref() {
                if c == '\n' {
                    break;
                }
            }
        } else {
            for c in chars.by_ref() {
                if c == '\n' {
                    break;
                }
                value.push(c);
            }
        }
        let key = key.trim().to_string();
        if !key.is_empty() && !key.starts_with('#') {
            vars.push((key, value));
        }
    }
    vars
}

/// A host's environment file with every value masked that the configuration does
/// not hold as the same plain text (raijin's own `RAIJIN_*` values excepted).
fn mask_host_env(text: &str, configured: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in parse_env(text) {
        let plain = configured
            .iter()
            .rev()
            .find(|(ck, _)| *ck == k)
            .is_some_and(|(_, cv)| !is_reference(cv) && *cv == v);
        let shown = if plain || k.starts_with("RAIJIN_") {
            env_quote(&v)
        } else {
            MASK.to_string()
        };
        out.push_str(&format!("{k}={shown}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_framed_by_their_size() {
        let out =
            b"current\tv2\nfile\t/etc/systemd/system/a.service\t8\nx\nfile\tb\n\nfile\t/b\t2\nyz\n";
        let (rel, files) = parse_files(out);
        assert_eq!(rel.as_deref(), Some("v2"));
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].contents, "x\nfile\tb");
        assert_eq!(files[1].contents, "yz");
        assert_eq!(parse_files(b"current\t\n").0, None);
    }

    #[test]
    fn env_files_parse_back_to_their_values() {
        let vars = vec![
            ("A".to_string(), "it's \"$x\"\nline 2\\".to_string()),
            ("B".to_string(), "plain".to_string()),
        ];
        let text: String = vars
            .iter()
            .map(|(k, v)| format!("{k}={}\n", env_quote(v)))
            .collect();
        assert_eq!(parse_env(&text), vars);
    }

    #[test]
    fn only_configured_plain_values_show() {
        let configured = vec![
            ("GREETING".to_string(), "hi".to_string()),
            ("TOKEN".to_string(), "keyring:shop/token".to_string()),
            ("OLD".to_string(), "now plain".to_string()),
        ];
        let host = "GREETING=\"hi\"\nTOKEN=\"s3cret\"\nOLD=\"was a secret\"\nGONE=\"x\"\nRAIJIN_VERSION=\"v1\"\n";
        assert_eq!(
            mask_host_env(host, &configured),
            "GREETING=\"hi\"\nTOKEN=****\nOLD=****\nGONE=****\nRAIJIN_VERSION=\"v1\"\n"
        );
    }
}
