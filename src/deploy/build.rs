//! The local steps of a deploy: run the app's build command (output streamed), then
//! bundle the artifact into chunks and render everything a release carries (units,
//! instances, Caddy site, environment), once for every host.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use tokio::io::AsyncReadExt as _;

use super::identity::{self, Content};
use super::plan::Version;
use crate::bundle::{self, Bundle};
use crate::config::AppConfig;
use crate::engine::events::{Events, Step};
use crate::remote::{Layout, caddy, slots, units};
use crate::ssh::OutputKind;

/// Everything rendered once per deploy and shipped to every host.
pub(crate) struct Rendered {
    pub version: Version,
    pub by: String,
    /// The deploy's time as `YYYYMMDDhhmmss`: the suffix of a release that carries an
    /// existing version id with other content.
    pub stamp: u64,
    pub bundle: Arc<Bundle>,
    pub manifest_json: String,
    pub chunks: Vec<String>,
    pub units: Vec<(String, String)>,
    pub instances: Vec<String>,
    /// The Caddy site when nothing runs in slots (static apps, in-place upstreams).
    pub site: Option<String>,
    /// For an app whose web process runs in slots: what each slot (`a`, `b`) installs.
    pub slots: Vec<SlotFiles>,
    pub env: String,
    /// The content digest of everything but the environment.
    pub public: [u8; 32],
}

/// What a release installs to run its web process in one slot.
pub(crate) struct SlotFiles {
    pub slot: &'static str,
    pub units: Vec<(String, String)>,
    pub instances: Vec<String>,
    pub ports: Vec<u16>,
    /// The site that sends the traffic to this slot's ports.
    pub site: String,
}

/// Run the build command locally, streaming its output.
pub(crate) async fn build(
    app: &AppConfig,
    dir: &std::path::Path,
    version: &str,
    events: &Events,
) -> anyhow::Result<()> {
    let Some(cmd) = &app.build else {
        return Ok(());
    };
    let started = Instant::now();
    events.started(None, Step::Build, Some(cmd.clone()));
    let mut child = tokio::process::Command::new("sh")
        .args(["-c", cmd])
        .current_dir(dir)
        .env("RAIJIN_VERSION", version)
        .env("RAIJIN_APP", &app.name)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting the build command `{cmd}`"))?;
    let mut out = child.stdout.take().context("build stdout")?;
    let mut err = child.stderr.take().context("build stderr")?;
    let mut sink = events.line_sink(None, Step::Build);
    let (mut ob, mut eb) = ([0u8; 8192], [0u8; 8192]);
    let (mut o_open, mut e_open) = (true, true);
    while o_open || e_open {
        tokio::select! {
            n = out.read(&mut ob), if o_open => match n {
                Ok(0) | Err(_) => o_open = false,
                Ok(n) => sink.push(OutputKind::Stdout, &ob[..n]),
            },
            n = err.read(&mut eb), if e_open => match n {
                Ok(0) | Err(_) => e_open = false,
                Ok(n) => sink.push(OutputKind::Stderr, &eb[..n]),
            },
        }
    }
    sink.flush();
    let status = child.wait().await.context("waiting for the build")?;
    if !status.success() {
        let msg = format!("build command `{cmd}` failed ({status})");
        events.failed(None, Step::Build, &msg, Vec::new());
        bail!(msg);
    }
    events.finished(None, Step::Build, started.elapsed(), None);
    Ok(())
}

/// Bundle the artifact and render the release's files.
pub(crate) async fn render(
    app: &AppConfig,
    layout: &Layout,
    version: &Version,
    by: &str,
    env: String,
    events: &Events,
) -> anyhow::Result<Rendered> {
    let started = Instant::now();
    events.started(None, Step::Bundle, None);
    let artifact = app.artifact.clone();
    let (v, kind) = (version.id.clone(), app.kind.as_str().to_string());
    let bundle = tokio::task::spawn_blocking(move || bundle::bundle_artifact(&artifact, &v, &kind))
        .await
        .context("bundling")??;
    let manifest_json = bundle.manifest.to_json()?;
    let chunks: Vec<String> = bundle
        .manifest
        .chunk_set()
        .into_iter()
        .map(String::from)
        .collect();
    let units: Vec<(String, String)> = units::render_units(app, layout)
        .into_iter()
        .map(|u| (u.name, u.contents))
        .collect();
    let instances = units::unit_instances(app);
    let slots: Vec<SlotFiles> = if slots::process(app).is_some() {
        slots::SLOTS
            .iter()
            .map(|&slot| {
                let ports = slots::ports(app, slot);
                SlotFiles {
                    slot,
                    units: units::render_slot_units(app, layout, slot)
                        .into_iter()
                        .map(|u| (u.name, u.contents))
                        .collect(),
                    instances: slots::instances(app, slot),
                    site: caddy::render_site(app, layout, &ports).unwrap_or_default(),
                    ports,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let site = if slots.is_empty() {
        app.proxy
            .as_ref()
            .and_then(|_| caddy::render_site(app, layout, &[]))
    } else {
        None
    };
    let slot_units: Vec<(String, String)> = slots
        .iter()
        .flat_map(|s| {
            s.units.iter().cloned().chain(std::iter::once((
                format!("site.{}.caddy", s.slot),
                s.site.clone(),
            )))
        })
        .collect();
    let public = identity::public_digest(&Content {
        manifest: &bundle.manifest,
        units: &[units.as_slice(), slot_units.as_slice()].concat(),
        instances: &instances,
        site: site.as_deref(),
        hooks: &app.hooks,
        kind: app.kind.as_str(),
        user: &app.user,
    });
    events.finished(
        None,
        Step::Bundle,
        started.elapsed(),
        Some(format!(
            "{} in {} chunks",
            crate::util::human_bytes(bundle.manifest.total_bytes()),
            chunks.len()
        )),
    );
    Ok(Rendered {
        version: version.clone(),
        by: by.to_string(),
        stamp: stamp_now(),
        bundle: Arc::new(bundle),
        manifest_json,
        chunks,
        units,
        instances,
        site,
        slots,
        env,
        public,
    })
}

/// Now as the number `YYYYMMDDhhmmss` (UTC).
fn stamp_now() -> u64 {
    let now = time::OffsetDateTime::now_utc();
    let s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    s.parse().unwrap_or(0)
}
