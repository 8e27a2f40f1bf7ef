//! An app's kept releases on its hosts (`raijin history`, the console's History
//! tab, and rollback's choice of target): version, commit, when, by whom, which is
//! current and which went bad.

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, Host, HostError, LookupError};
use crate::remote::Layout;
use crate::remote::scripts::inspect as scripts;

/// One kept release on a host.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Release {
    pub version: String,
    pub commit: Option<String>,
    pub deployed_at: String,
    pub by: String,
    pub current: bool,
    pub bad: bool,
}

#[derive(Clone, Debug, Serialize, Default)]
pub struct HostHistory {
    pub host: String,
    /// Newest first.
    pub releases: Vec<Release>,
    pub current: Option<String>,
    pub previous: Option<String>,
    /// The host still has an earlier raijin's layout, which the next deploy migrates.
    #[serde(default)]
    pub legacy: bool,
}

impl HostHistory {
    /// The release to roll back to by default: the one that was current
    /// before, if it is kept and not bad; else the newest good release older
    /// than the current one.
    pub fn previous_good(&self) -> Option<String> {
        if let Some(p) = &self.previous
            && self
                .releases
                .iter()
                .any(|r| &r.version == p && !r.bad && !r.current)
        {
            return Some(p.clone());
        }
        let cur_at = self
            .releases
            .iter()
            .find(|r| r.current)
            .map(|r| r.deployed_at.clone())?;
        self.releases
            .iter()
            .filter(|r| !r.current && !r.bad && r.deployed_at < cur_at)
            .map(|r| r.version.clone())
            .next()
    }
}

#[derive(Deserialize)]
struct MetaLine {
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    deployed_at: String,
    #[serde(default)]
    by: String,
}

/// Parse the output of [`scripts::history`].
pub fn parse_history(host: &str, text: &str) -> HostHistory {
    let mut h = HostHistory {
        host: host.to_string(),
        ..Default::default()
    };
    for line in text.lines() {
        let mut parts = line.splitn(3, '\t');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("current"), Some(v), None) => {
                h.current = Some(v.trim().to_string()).filter(|v| !v.is_empty())
            }
            (Some("previous"), Some(v), None) => {
                h.previous = Some(v.trim().to_string()).filter(|v| !v.is_empty())
            }
            (Some("legacy"), None, None) => h.legacy = true,
            (Some(v), Some(bad), Some(meta)) => {
                let m: MetaLine = serde_json::from_str(meta).unwrap_or(MetaLine {
                    commit: None,
                    deployed_at: String::new(),
                    by: String::new(),
                });
                h.releases.push(Release {
                    version: v.to_string(),
                    commit: m.commit,
                    deployed_at: m.deployed_at,
                    by: m.by,
                    current: false,
                    bad: bad == "1",
                });
            }
            _ => {}
        }
    }
    for r in &mut h.releases {
        r.current = h.current.as_deref() == Some(r.version.as_str());
    }
    h.releases.sort_by(|a, b| b.deployed_at.cmp(&a.deployed_at));
    h
}

/// The kept releases of the app of `layout` on one host.
pub async fn host_history(r: &Host, layout: &Layout) -> Result<HostHistory, HostError> {
    let out = r
        .script("reading the release history", &scripts::history(layout))
        .await?;
    Ok(parse_history(&r.host, &out.stdout_str()))
}

/// The kept releases of `app` on each of its hosts (read in parallel), in the
/// app's order of hosts; a host that could not be read has its error.
pub async fn history(
    engine: &Engine,
    app: &str,
) -> Result<Vec<(String, Result<HostHistory, HostError>)>, LookupError> {
    let app = engine.app(app)?;
    let layout = Layout::new(&app.name);
    let hosts = engine.hosts(&app.hosts)?;
    let reads = hosts.iter().map(|h| async {
        let layout = &layout;
        (h.host.clone(), host_history(h, layout).await)
    });
    Ok(futures::future::join_all(reads).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_marks_current_and_bad_and_picks_previous_good() {
        let text = "v1\t0\t{\"version\":\"v1\",\"deployed_at\":\"2026-01-01T00:00:01Z\",\"by\":\"a@b\"}\n\
                    v2\t1\t{\"version\":\"v2\",\"deployed_at\":\"2026-01-01T00:00:02Z\",\"by\":\"a@b\"}\n\
                    v3\t0\t{\"version\":\"v3\",\"deployed_at\":\"2026-01-01T00:00:03Z\",\"by\":\"a@b\",\"commit\":\"abc\"}\n\
                    current\tv3\nprevious\tv2\n";
        let h = parse_history("h1", text);
        assert_eq!(
            h.releases
                .iter()
                .map(|r| r.version.as_str())
                .collect::<Vec<_>>(),
            ["v3", "v2", "v1"]
        );
        assert!(h.releases[0].current && !h.releases[0].bad);
        assert!(h.releases[1].bad);
        assert_eq!(h.releases[0].commit.as_deref(), Some("abc"));
        // v2 was previous but is bad: the newest good older one is v1.
        assert_eq!(h.previous_good().as_deref(), Some("v1"));
    }
}
