//! Finding what a request names in the configuration: an app, the hosts an
//! operation on it acts on, one of its processes. Every miss is a [`LookupError`]
//! that lists what is configured, with a did-you-mean; the faces turn it into
//! their "invalid request" exit code.

use std::path::Path;

use super::Engine;
use crate::config::AppConfig;

/// A name in a request that the configuration does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("unknown app `{name}`{hint} (apps in {config}: {known})")]
    UnknownApp {
        name: String,
        hint: String,
        config: String,
        known: String,
    },
    #[error("unknown host `{name}`{hint} (configured in {config}: {known})")]
    UnknownHost {
        name: String,
        hint: String,
        config: String,
        known: String,
    },
    #[error("host `{host}` is not one of app {app}'s hosts ({hosts})")]
    NotAppHost {
        host: String,
        app: String,
        hosts: String,
    },
    #[error("app {app} has no process `{name}`{hint} (processes: {known})")]
    UnknownProcess {
        app: String,
        name: String,
        hint: String,
        known: String,
    },
    #[error("app {app} has no hosts")]
    NoHosts { app: String },
    #[error("app {app} has no processes, so no journal to show")]
    NoProcesses { app: String },
}

/// ` — did you mean `x`?`, or nothing.
fn hint<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> String {
    crate::util::did_you_mean(name, known)
        .map(|m| format!(" — did you mean `{m}`?"))
        .unwrap_or_default()
}

impl LookupError {
    pub(super) fn unknown_host<'a>(
        name: &str,
        config: &Path,
        known: impl Iterator<Item = &'a String> + Clone,
    ) -> LookupError {
        let names: Vec<&str> = known.map(String::as_str).collect();
        LookupError::UnknownHost {
            name: name.to_string(),
            hint: hint(name, names.iter().copied()),
            config: config.display().to_string(),
            known: if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            },
        }
    }
}

/// What [`Engine::hosts_for`] answers; it needs nothing but the app.
pub fn hosts_for(app: &AppConfig, requested: &[String]) -> Result<Vec<String>, LookupError> {
    if let Some(h) = requested.iter().find(|h| !app.hosts.contains(h)) {
        return Err(LookupError::NotAppHost {
            host: h.clone(),
            app: app.name.clone(),
            hosts: app.hosts.join(", "),
        });
    }
    Ok(if requested.is_empty() {
        app.hosts.clone()
    } else {
        requested.to_vec()
    })
}

impl Engine {
    /// The app called `name`.
    pub fn app(&self, name: &str) -> Result<&AppConfig, LookupError> {
        let apps = &self.config.apps;
        apps.get(name).ok_or_else(|| LookupError::UnknownApp {
            name: name.to_string(),
            hint: hint(name, apps.keys().map(String::as_str)),
            config: self.config.path.display().to_string(),
            known: apps.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    /// Every configured app, in name order.
    pub fn apps(&self) -> impl Iterator<Item = &AppConfig> {
        self.config.apps.values()
    }

    /// The hosts an operation on `app` acts on: the requested ones (each must be
    /// one of the app's), or all of the app's hosts.
    pub fn hosts_for(
        &self,
        app: &AppConfig,
        requested: &[String],
    ) -> Result<Vec<String>, LookupError> {
        hosts_for(app, requested)
    }

    /// The requested host of `app` (one of its hosts), else its first host.
    pub fn host_of(&self, app: &AppConfig, requested: Option<&str>) -> Result<String, LookupError> {
        let requested: Vec<String> = requested.map(String::from).into_iter().collect();
        self.hosts_for(app, &requested)?
            .into_iter()
            .next()
            .ok_or_else(|| LookupError::NoHosts {
                app: app.name.clone(),
            })
    }

    /// Check that every one of `processes` is a process of `app`.
    pub fn check_processes(
        &self,
        app: &AppConfig,
        processes: &[String],
    ) -> Result<(), LookupError> {
        match processes.iter().find(|p| !app.processes.contains_key(*p)) {
            None => Ok(()),
            Some(p) => Err(LookupError::UnknownProcess {
                app: app.name.clone(),
                name: p.clone(),
                hint: hint(p, app.processes.keys().map(String::as_str)),
                known: app.processes.keys().cloned().collect::<Vec<_>>().join(", "),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineOptions;

    fn engine() -> Engine {
        let toml = r#"
[hosts.h1]
address = "10.0.0.1"
[hosts.h2]
address = "10.0.0.2"

[apps.shop]
hosts = ["h1", "h2"]
artifact = "dist"
kind = "binary"
[apps.shop.processes.web]
command = "serve"
"#;
        let config = crate::config::load_str(toml, Path::new("raijin.toml")).expect("config");
        Engine::new(
            config,
            EngineOptions {
                ssh_config: Some("/dev/null".into()),
                accept_new_host_key: false,
                prompter: std::sync::Arc::new(crate::ssh::NoPrompt),
            },
        )
        .expect("engine")
    }

    #[test]
    fn misses_name_what_is_configured() {
        let e = engine();
        assert_eq!(
            e.app("shpo").unwrap_err().to_string(),
            "unknown app `shpo` — did you mean `shop`? (apps in raijin.toml: shop)"
        );
        assert_eq!(
            e.host("hh1")
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default(),
            "unknown host `hh1` — did you mean `h1`? (configured in raijin.toml: h1, h2)"
        );
        let shop = e.app("shop").unwrap();
        assert_eq!(
            e.hosts_for(shop, &["h9".into()]).unwrap_err().to_string(),
            "host `h9` is not one of app shop's hosts (h1, h2)"
        );
        assert_eq!(
            e.check_processes(shop, &["wbe".into()])
                .unwrap_err()
                .to_string(),
            "app shop has no process `wbe` — did you mean `web`? (processes: web)"
        );
    }

    #[test]
    fn hosts_default_to_all_of_the_apps_and_one_to_the_first() {
        let e = engine();
        let shop = e.app("shop").unwrap();
        assert_eq!(e.hosts_for(shop, &[]).unwrap(), ["h1", "h2"]);
        assert_eq!(e.hosts_for(shop, &["h2".into()]).unwrap(), ["h2"]);
        assert_eq!(e.host_of(shop, None).unwrap(), "h1");
        assert_eq!(e.host_of(shop, Some("h2")).unwrap(), "h2");
    }
}
