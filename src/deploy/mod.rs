//! The deploy pipeline: plan, lock, build, bundle, push only the chunks each
//! host lacks, install, activate with a health gate and automatic revert,
//! update Caddy, prune, audit. Rollback is the activate step with a kept
//! release. Every step reports [`Event`]s; nothing here prints.

pub mod inspect;
pub mod plan;
pub mod remote;
pub mod scripts;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::bundle::{self, Bundle};
use crate::config::{AppConfig, AppKind};
use crate::engine::Engine;
use crate::engine::events::{Event, Events, Step};
use crate::remote::{Layout, caddy, units};
use crate::ssh::{OutputKind, Stdin};
use remote::Remote;

/// How long a new release has to become healthy.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);
/// Journal lines shown for a unit that failed.
const JOURNAL_LINES: u32 = 20;

#[derive(Clone, Debug, Default)]
pub struct DeployRequest {
    pub app: String,
    /// Hosts to deploy to; empty = all of the app's hosts.
    pub hosts: Vec<String>,
    pub version: Option<String>,
    /// Wait this long for another deploy's lock; None = fail at once.
    pub lock_wait: Option<Duration>,
    pub force_unlock: bool,
}

/// What happened on one host.
#[derive(Clone, Debug, Serialize)]
pub struct HostOutcome {
    pub host: String,
    pub ok: bool,
    pub version: String,
    pub from_version: Option<String>,
    pub error: Option<String>,
    /// Bytes of chunk data sent (the artifact's unchanged chunks cost nothing).
    pub bytes_sent: u64,
    pub chunks_sent: usize,
    pub elapsed_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub app: String,
    pub version: String,
    pub artifact_bytes: u64,
    pub hosts: Vec<HostOutcome>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.hosts.iter().all(|h| h.ok)
    }
}

/// Look up an app, with a did-you-mean.
pub fn app<'a>(engine: &'a Engine, name: &str) -> anyhow::Result<&'a AppConfig> {
    if let Some(a) = engine.config.apps.get(name) {
        return Ok(a);
    }
    let hint = crate::util::did_you_mean(name, engine.config.apps.keys().map(String::as_str))
        .map(|m| format!(" — did you mean `{m}`?"))
        .unwrap_or_default();
    bail!(
        "unknown app `{name}`{hint} (apps in {}: {})",
        engine.config.path.display(),
        engine
            .config
            .apps
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The hosts to act on: the requested ones (each must be one of the app's),
/// or all of the app's hosts.
pub fn hosts_for(app: &AppConfig, requested: &[String]) -> anyhow::Result<Vec<String>> {
    if requested.is_empty() {
        return Ok(app.hosts.clone());
    }
    for h in requested {
        if !app.hosts.contains(h) {
            bail!(
                "host `{h}` is not one of app {}'s hosts ({})",
                app.name,
                app.hosts.join(", ")
            );
        }
    }
    Ok(requested.to_vec())
}

fn remotes(engine: &Engine, hosts: &[String]) -> anyhow::Result<Vec<Remote>> {
    hosts
        .iter()
        .map(|h| Ok(Remote::new(h, engine.session(h)?)))
        .collect()
}

/// Lock holder record, stored in the lock dir and shown to a second deployer.
#[derive(Serialize, serde::Deserialize, Debug, Clone)]
pub struct LockInfo {
    pub by: String,
    pub since: String,
    pub version: String,
    pub action: String,
    /// Machine and process holding the lock: a holder on this machine whose
    /// process is gone (killed, or its link dropped before it could unlock)
    /// left a stale lock, which the next deploy from here breaks by itself.
    #[serde(default)]
    pub machine: String,
    #[serde(default)]
    pub pid: u32,
}

impl LockInfo {
    pub fn new(by: &str, version: &str, action: &str) -> Self {
        LockInfo {
            by: by.to_string(),
            since: now_rfc3339(),
            version: version.to_string(),
            action: action.to_string(),
            machine: plan::machine_name(),
            pid: std::process::id(),
        }
    }

    /// Held by a process of this machine that no longer runs.
    fn is_stale_here(&self) -> bool {
        self.pid != 0
            && self.machine == plan::machine_name()
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Take the app's lock on one host, waiting up to `wait` for another holder.
async fn lock_host(
    r: &Remote,
    layout: &Layout,
    info: &LockInfo,
    wait: Option<Duration>,
    force: bool,
    events: &Events,
) -> anyhow::Result<()> {
    let started = Instant::now();
    events.started(Some(&r.host), Step::Lock, None);
    let json = serde_json::to_string(info)?;
    let mut force = force;
    loop {
        let out = r
            .script(
                "taking the deploy lock",
                &scripts::lock(layout, &json, force),
            )
            .await?;
        force = false;
        let text = out.stdout_str();
        if text.trim() == "locked" {
            events.finished(Some(&r.host), Step::Lock, started.elapsed(), None);
            return Ok(());
        }
        let held = text.trim().strip_prefix("held").unwrap_or("").trim();
        let parsed = serde_json::from_str::<LockInfo>(held);
        if let Ok(h) = &parsed
            && h.is_stale_here()
        {
            events.output(
                Some(&r.host),
                Step::Lock,
                OutputKind::Stderr,
                &format!(
                    "breaking a stale lock of {} since {} (process {} on this machine is gone)",
                    h.by, h.since, h.pid
                ),
            );
            force = true;
            continue;
        }
        let holder = parsed
            .map(|h| {
                format!(
                    "{} since {} ({} of version {})",
                    h.by, h.since, h.action, h.version
                )
            })
            .unwrap_or_else(|_| format!("an unknown holder ({held})"));
        match wait {
            Some(w) if started.elapsed() < w => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            _ => {
                let msg = format!(
                    "{}: app {} is locked by {holder}; wait with --lock-wait SECS, or break a stale lock with --force-unlock",
                    r.host,
                    layout.app()
                );
                events.failed(Some(&r.host), Step::Lock, &msg, Vec::new());
                bail!(msg);
            }
        }
    }
}

/// Release the app's lock on these hosts (also used after Ctrl-C).
pub async fn unlock(engine: &Engine, app: &str, hosts: &[String]) {
    let layout = Layout::new(app);
    let remotes: Vec<Remote> = hosts
        .iter()
        .filter_map(|h| engine.session(h).ok().map(|s| Remote::new(h, s)))
        .collect();
    futures::future::join_all(remotes.iter().map(|r| release(r, &layout))).await;
}

/// Release the app's lock on one host (best effort: a host that is gone
/// keeps a lock its next deploy recognizes as stale).
async fn release(r: &Remote, layout: &Layout) {
    let _ = r
        .script("releasing the deploy lock", &scripts::unlock(layout))
        .await;
}

/// Lock every host or none.
async fn lock_all(
    remotes: &[Remote],
    layout: &Layout,
    info: &LockInfo,
    req_wait: Option<Duration>,
    force: bool,
    events: &Events,
) -> anyhow::Result<()> {
    let results = futures::future::join_all(
        remotes
            .iter()
            .map(|r| lock_host(r, layout, info, req_wait, force, events)),
    )
    .await;
    let errors: Vec<String> = results
        .iter()
        .filter_map(|res| res.as_ref().err().map(|e| format!("{e:#}")))
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    // Give back the locks we did take.
    for (r, res) in remotes.iter().zip(results) {
        if res.is_ok() {
            release(r, layout).await;
        }
    }
    bail!(errors.join("\n"))
}

/// Run the build command locally, streaming its output.
async fn build(
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

/// Everything rendered once per deploy and shipped to every host.
struct Rendered {
    bundle: Arc<Bundle>,
    manifest_json: String,
    chunks: Vec<String>,
    units: Vec<(String, String)>,
    instances: Vec<String>,
    site: Option<String>,
    env: String,
    meta_json: String,
}

#[derive(Serialize)]
struct Meta<'a> {
    version: &'a str,
    commit: Option<&'a str>,
    deployed_at: &'a str,
    by: &'a str,
    kind: &'a str,
}

/// Deploy an app to its hosts. Returns per-host outcomes; an error means
/// nothing was changed on any host (bad request, lock held, build failed).
pub async fn deploy(
    engine: &Engine,
    req: DeployRequest,
    events: &Events,
) -> anyhow::Result<Report> {
    let app = app(engine, &req.app)?.clone();
    let hosts = hosts_for(&app, &req.hosts)?;
    let dir = plan::project_dir(&engine.config);
    let layout = Layout::new(&app.name);
    let plan_started = Instant::now();
    events.started(None, Step::Plan, None);
    let version = plan::version(&app, &dir, req.version.as_deref())?;
    // Secrets resolve before anything is built or uploaded.
    let vars = plan::env_vars(&app)?;
    let resolved = crate::secrets::resolve_all(&vars, &engine.config.secrets).await?;
    let env = plan::env_file(&app, &version.id, &resolved);
    // From here on, values that came from secret references are masked in
    // every event (a hook or build that prints one shows `****`).
    let secret_values: Vec<&str> = vars
        .iter()
        .zip(&resolved)
        .filter(|((_, raw), _)| matches!(crate::config::SecretRef::parse(raw), Ok(Some(_))))
        .map(|(_, (_, v))| v.expose())
        .collect();
    let masked = events.masking(secret_values);
    let events = &masked;
    let by = plan::deployer();
    events.finished(
        None,
        Step::Plan,
        plan_started.elapsed(),
        Some(format!(
            "{} {} → {}",
            app.name,
            version.id,
            hosts.join(", ")
        )),
    );

    let remotes = remotes(engine, &hosts)?;
    let info = LockInfo::new(&by, &version.id, "deploy");
    lock_all(
        &remotes,
        &layout,
        &info,
        req.lock_wait,
        req.force_unlock,
        events,
    )
    .await?;

    let prepared = async {
        build(&app, &dir, &version.id, events).await?;
        let started = Instant::now();
        events.started(None, Step::Bundle, None);
        let artifact = app.artifact.clone();
        let (v, kind) = (version.id.clone(), app.kind.as_str().to_string());
        let bundle =
            tokio::task::spawn_blocking(move || bundle::bundle_artifact(&artifact, &v, &kind))
                .await
                .context("bundling")??;
        let manifest_json = bundle.manifest.to_json()?;
        let chunks: Vec<String> = bundle
            .manifest
            .chunk_set()
            .into_iter()
            .map(String::from)
            .collect();
        let units = units::render_units(&app, &layout)
            .into_iter()
            .map(|u| (u.name, u.contents))
            .collect();
        let site = app
            .proxy
            .as_ref()
            .and_then(|p| caddy::render_site(&app, &layout, p.port, false));
        let deployed_at = now_rfc3339();
        let meta_json = serde_json::to_string(&Meta {
            version: &version.id,
            commit: version.commit.as_deref(),
            deployed_at: &deployed_at,
            by: &by,
            kind: app.kind.as_str(),
        })?;
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
        Ok::<_, anyhow::Error>(Rendered {
            bundle: Arc::new(bundle),
            manifest_json,
            chunks,
            units,
            instances: units::unit_instances(&app),
            site,
            env,
            meta_json,
        })
    }
    .await;
    let rendered = match prepared {
        Ok(r) => Arc::new(r),
        Err(e) => {
            for r in &remotes {
                release(r, &layout).await;
            }
            return Err(e);
        }
    };

    let artifact_bytes = rendered.bundle.manifest.total_bytes();
    let outcomes = futures::future::join_all(
        remotes
            .iter()
            .map(|r| deploy_host(r, &app, &layout, &version, &by, rendered.clone(), events)),
    )
    .await;
    Ok(Report {
        app: app.name.clone(),
        version: version.id.clone(),
        artifact_bytes,
        hosts: outcomes,
    })
}

/// The per-host part of a deploy; always audits and unlocks.
async fn deploy_host(
    r: &Remote,
    app: &AppConfig,
    layout: &Layout,
    version: &plan::Version,
    by: &str,
    rendered: Arc<Rendered>,
    events: &Events,
) -> HostOutcome {
    let started = Instant::now();
    let sent = Arc::new(AtomicU64::new(0));
    let mut chunks_sent = 0;
    let mut from_version = None;
    let result = async {
        chunks_sent = push(r, app, layout, &version.id, &rendered, &sent, events).await?;
        install(r, app, layout, &version.id, events).await?;
        let prev = activate_gated(r, app, layout, &version.id, &rendered.instances, events).await?;
        from_version = prev;
        run_hook(r, app, layout, &version.id, "post_activate", events).await?;
        prune(r, app, layout, events).await;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    let (ok, error) = match result {
        Ok(()) => (true, None),
        Err(e) => {
            let msg = events.mask(&format!("{e:#}"));
            let _ = run_hook(r, app, layout, &version.id, "on_failure", events).await;
            (false, Some(msg))
        }
    };
    let outcome = HostOutcome {
        host: r.host.clone(),
        ok,
        version: version.id.clone(),
        from_version,
        error,
        bytes_sent: sent.load(Ordering::Relaxed),
        chunks_sent,
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    audit(
        r,
        layout,
        "deploy",
        by,
        version.commit.as_deref(),
        &outcome,
        events,
    )
    .await;
    release(r, layout).await;
    events.send(Event::HostDone {
        host: r.host.clone(),
        ok,
        version: Some(version.id.clone()),
        summary: match &outcome.error {
            None => format!(
                "{} live (sent {} in {} chunks)",
                version.id,
                crate::util::human_bytes(outcome.bytes_sent),
                outcome.chunks_sent
            ),
            Some(e) => format!("failed: {e}"),
        },
    });
    outcome
}

/// Push: learn which chunks the host lacks (one round trip), send only those,
/// verify each on arrival, materialize and verify the release.
async fn push(
    r: &Remote,
    app: &AppConfig,
    layout: &Layout,
    version: &str,
    rendered: &Rendered,
    sent: &Arc<AtomicU64>,
    events: &Events,
) -> anyhow::Result<usize> {
    let started = Instant::now();
    let host = Some(r.host.as_str());
    events.started(host, Step::Push, None);
    let fail = |e: &anyhow::Error| events.failed(host, Step::Push, &format!("{e:#}"), Vec::new());
    let result = async {
        let list = format!("{}\n", rendered.chunks.join("\n"));
        let probe = r
            .with_stdin(
                "checking which chunks the host lacks",
                &scripts::probe(layout, version),
                Stdin::Bytes(list.into_bytes().into()),
            )
            .await?;
        let probe_text = probe.stdout_str();
        // Guard: a binary built for another CPU is refused before upload.
        if app.kind == AppKind::Binary {
            let arch = probe_text
                .lines()
                .find_map(|l| l.strip_prefix("arch "))
                .unwrap_or_default();
            if let Some(path) = rendered.bundle.source_path(0) {
                bundle::check_arch(path, arch.trim())
                    .map_err(|e| anyhow::anyhow!("{}", e.for_app(&app.name, &r.host)))?;
            }
        }
        let mut missing = HashSet::new();
        let mut existing_manifest = None;
        for line in probe_text.lines() {
            if let Some(h) = line.strip_prefix("missing ") {
                missing.insert(h.to_string());
            } else if let Some(sum) = line.strip_prefix("exists ") {
                existing_manifest = Some(sum.to_string());
            }
        }
        if let Some(sum) = existing_manifest {
            let ours = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
                format!("{}\n", rendered.manifest_json).as_bytes(),
            ));
            if sum != ours && !manifests_match(r, layout, version, rendered).await? {
                bail!(
                    "version {version} already exists on {} with different content; deploy under a new version id",
                    r.host
                );
            }
            events.finished(host, Step::Push, started.elapsed(), Some("release already on the host".into()));
            return Ok(0);
        }
        let present: HashSet<String> = rendered
            .chunks
            .iter()
            .filter(|h| !missing.contains(*h))
            .cloned()
            .collect();
        let to_send = rendered.bundle.missing(&present);
        let total: u64 = to_send.iter().map(|(_, n)| u64::from(*n)).sum();
        events.progress(host, Step::Push, 0, total);
        if !to_send.is_empty() {
            let (mut writer, reader) = tokio::io::duplex(256 * 1024);
            let bundle = rendered.bundle.clone();
            let list = to_send.clone();
            let counter = sent.clone();
            let ev = events.clone();
            let h = r.host.clone();
            let feeder = tokio::spawn(async move {
                let mut done = 0u64;
                let mut last_report = Instant::now();
                for (hash, len) in list {
                    let b = bundle.clone();
                    let hh = hash.clone();
                    let data = tokio::task::spawn_blocking(move || b.read_chunk(&hh)).await??;
                    writer.write_all(format!("{hash} {len}\n").as_bytes()).await?;
                    writer.write_all(&data).await?;
                    done += u64::from(len);
                    counter.fetch_add(u64::from(len), Ordering::Relaxed);
                    if last_report.elapsed() > Duration::from_millis(100) {
                        ev.progress(Some(&h), Step::Push, done, total);
                        last_report = Instant::now();
                    }
                }
                writer.shutdown().await?;
                Ok::<_, anyhow::Error>(())
            });
            let received = r
                .with_stdin(
                    "receiving chunks",
                    &scripts::receive_chunks(layout),
                    Stdin::Reader(Box::new(reader)),
                )
                .await;
            let fed = feeder.await.context("chunk feeder")?;
            received?;
            fed?;
        }
        events.progress(host, Step::Push, total, total);
        let script = format!(
            "{}{}",
            scripts::materialize_env(layout, version, app.kind),
            bundle::materialize_plan(&rendered.bundle.manifest)
        );
        r.script("materializing the release", &script).await?;
        r.script(
            "writing the release files",
            &scripts::write_release_files(
                layout,
                app,
                version,
                &scripts::ReleaseFiles {
                    manifest_json: &rendered.manifest_json,
                    chunks: &rendered.chunks,
                    units: &rendered.units,
                    site: rendered.site.as_deref(),
                    env: &rendered.env,
                    meta_json: &rendered.meta_json,
                },
            ),
        )
        .await?;
        events.finished(
            host,
            Step::Push,
            started.elapsed(),
            Some(format!(
                "sent {} in {} of {} chunks",
                crate::util::human_bytes(total),
                to_send.len(),
                rendered.chunks.len()
            )),
        );
        Ok(to_send.len())
    }
    .await;
    if let Err(e) = &result {
        fail(e);
    }
    result
}

/// The host has this version: is it the same content? (Compares chunk lists,
/// which do not depend on when the manifest was written.)
async fn manifests_match(
    r: &Remote,
    layout: &Layout,
    version: &str,
    rendered: &Rendered,
) -> anyhow::Result<bool> {
    let out = r
        .script(
            "reading the existing release",
            &format!(
                "cat {}/chunks\n",
                crate::util::shell_quote(&scripts::meta_dir(layout, version))
            ),
        )
        .await?;
    let theirs: Vec<String> = out.stdout_str().lines().map(String::from).collect();
    Ok(theirs == rendered.chunks)
}

/// Install: app user and dirs, pre_install hook, venv for python, post_install hook.
async fn install(
    r: &Remote,
    app: &AppConfig,
    layout: &Layout,
    version: &str,
    events: &Events,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let host = Some(r.host.as_str());
    events.started(host, Step::Install, None);
    let result = async {
        r.script(
            "creating the app user and directories",
            &scripts::ensure_app_user(layout, app),
        )
        .await?;
        run_hook(r, app, layout, version, "pre_install", events).await?;
        if let Some(script) = scripts::install_release(layout, app, version) {
            r.script_streamed(
                "installing the python environment",
                &script,
                events,
                Step::Install,
            )
            .await?;
        }
        run_hook(r, app, layout, version, "post_install", events).await?;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    match &result {
        Ok(()) => events.finished(host, Step::Install, started.elapsed(), None),
        Err(e) => events.failed(host, Step::Install, &format!("{e:#}"), Vec::new()),
    }
    result
}

/// Run one of the app's hooks on the host, if configured; output streamed.
async fn run_hook(
    r: &Remote,
    app: &AppConfig,
    layout: &Layout,
    version: &str,
    which: &str,
    events: &Events,
) -> anyhow::Result<()> {
    let cmd = match which {
        "pre_install" => &app.hooks.pre_install,
        "post_install" => &app.hooks.post_install,
        "post_activate" => &app.hooks.post_activate,
        _ => &app.hooks.on_failure,
    };
    let Some(cmd) = cmd else {
        return Ok(());
    };
    let started = Instant::now();
    let host = Some(r.host.as_str());
    events.started(host, Step::Hook, Some(format!("{which}: {cmd}")));
    match r
        .script_streamed(
            &format!("the {which} hook"),
            &scripts::hook(layout, app, version, cmd),
            events,
            Step::Hook,
        )
        .await
    {
        Ok(_) => {
            events.finished(host, Step::Hook, started.elapsed(), Some(which.to_string()));
            Ok(())
        }
        Err(e) => {
            let msg = format!("{which} hook `{cmd}` failed: {e}");
            events.failed(host, Step::Hook, &msg, Vec::new());
            bail!(msg)
        }
    }
}

/// A failed activation: why, and the failing unit's journal.
#[derive(Debug)]
struct Unhealthy {
    reason: String,
    journal: Vec<String>,
}

/// Activate `version`, gate it on health, and on failure put the previous
/// release back and mark this one bad. Returns the version it replaced.
pub(crate) async fn activate_gated(
    r: &Remote,
    app: &AppConfig,
    layout: &Layout,
    version: &str,
    instances: &[String],
    events: &Events,
) -> anyhow::Result<Option<String>> {
    let started = Instant::now();
    let host = Some(r.host.as_str());
    events.started(host, Step::Activate, Some(version.to_string()));
    let out = r
        .script(
            "activating the release",
            &scripts::activate(layout, app, version, instances),
        )
        .await;
    let prev = match &out {
        Ok(o) => o
            .stdout_str()
            .lines()
            .find_map(|l| l.strip_prefix("previous "))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from),
        Err(_) => None,
    };
    let checked = match out {
        Err(e) => Err(Unhealthy {
            reason: format!("{e}"),
            journal: Vec::new(),
        }),
        Ok(_) => {
            events.finished(host, Step::Activate, started.elapsed(), None);
            let proxied = proxy_step(r, layout, version, events).await;
            match proxied {
                Err(e) => Err(Unhealthy {
                    reason: format!("{e:#}"),
                    journal: Vec::new(),
                }),
                Ok(()) => health(r, app, instances, events).await,
            }
        }
    };
    let Err(bad) = checked else {
        return Ok(prev);
    };
    events.failed(host, Step::Health, &bad.reason, bad.journal.clone());
    // Put the previous release back, then mark this one bad.
    let _ = r
        .script(
            "marking the release bad",
            &scripts::mark_bad(layout, version, &bad.reason),
        )
        .await;
    if let Some(p) = &prev {
        let back = r
            .script(
                "restoring the previous release",
                &scripts::activate(layout, app, p, instances),
            )
            .await;
        let _ = proxy_step(r, layout, p, events).await;
        if let Err(e) = back {
            bail!("{} (and restoring {p} failed too: {e})", bad.reason);
        }
        bail!("{}; {p} is serving again", bad.reason)
    }
    bail!("{}", bad.reason)
}

async fn proxy_step(
    r: &Remote,
    layout: &Layout,
    version: &str,
    events: &Events,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let host = Some(r.host.as_str());
    events.started(host, Step::Proxy, None);
    match r
        .script("updating the Caddy site", &scripts::proxy(layout, version))
        .await
    {
        Ok(_) => {
            events.finished(host, Step::Proxy, started.elapsed(), None);
            Ok(())
        }
        Err(e) => {
            events.failed(host, Step::Proxy, &e.to_string(), Vec::new());
            Err(e.into())
        }
    }
}

/// Every unit active (and still active a moment later), then HTTP 2xx on the
/// proxy's health path through Caddy.
async fn health(
    r: &Remote,
    app: &AppConfig,
    instances: &[String],
    events: &Events,
) -> Result<(), Unhealthy> {
    let started = Instant::now();
    let host = Some(r.host.as_str());
    events.started(host, Step::Health, None);
    let deadline = Instant::now() + HEALTH_TIMEOUT;
    let script = scripts::is_active(instances);
    let mut stable = 0;
    loop {
        let states: Vec<String> = match r.script("checking units", &script).await {
            Ok(o) => o.stdout_str().lines().map(String::from).collect(),
            Err(e) => {
                return Err(Unhealthy {
                    reason: e.to_string(),
                    journal: Vec::new(),
                });
            }
        };
        let bad = instances
            .iter()
            .zip(states.iter().chain(std::iter::repeat(&String::new())))
            .find(|(_, s)| s.as_str() != "active")
            .map(|(u, s)| (u.clone(), s.clone()));
        match bad {
            None => {
                stable += 1;
                // A served health path proves the app is up; without one, ask
                // twice so a process that dies right after starting is caught.
                if stable >= 2 || app.proxy.is_some() {
                    break;
                }
            }
            Some((unit, state)) => {
                stable = 0;
                if Instant::now() > deadline || state == "failed" {
                    return Err(unit_failed(r, &unit, &state).await);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if let Some(proxy) = &app.proxy {
        let mut last;
        loop {
            match http_get(r, &proxy.domain, &proxy.health_path).await {
                Ok(code) if (200..300).contains(&code) => break,
                Ok(code) => last = format!("HTTP {code} on {}{}", proxy.domain, proxy.health_path),
                Err(e) => last = format!("{e:#}"),
            }
            if Instant::now() > deadline {
                let unit = proxy
                    .process
                    .as_ref()
                    .and_then(|p| {
                        instances
                            .iter()
                            .find(|i| i.starts_with(&format!("{}-{p}", app.name)))
                    })
                    .cloned()
                    .unwrap_or_default();
                let journal = journal(r, &unit).await;
                return Err(Unhealthy {
                    reason: format!("health check failed: {last}"),
                    journal,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    events.finished(host, Step::Health, started.elapsed(), None);
    Ok(())
}

async fn unit_failed(r: &Remote, unit: &str, state: &str) -> Unhealthy {
    Unhealthy {
        reason: format!(
            "unit {unit} is {} on {}",
            if state.is_empty() { "unknown" } else { state },
            r.host
        ),
        journal: journal(r, unit).await,
    }
}

async fn journal(r: &Remote, unit: &str) -> Vec<String> {
    if unit.is_empty() {
        return Vec::new();
    }
    match r
        .script(
            "reading the journal",
            &scripts::journal_tail(unit, JOURNAL_LINES),
        )
        .await
    {
        Ok(o) => o.stdout_str().lines().map(String::from).collect(),
        Err(_) => Vec::new(),
    }
}

/// GET through Caddy on the host (port 80, the site's Host header), over a
/// direct-tcpip channel of the host's SSH connection. Returns the status code.
async fn http_get(r: &Remote, domain: &str, path: &str) -> anyhow::Result<u16> {
    let mut stream = r.session.open_tcp("127.0.0.1", 80).await?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {domain}\r\nUser-Agent: raijin\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.contains(&b'\n') {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .context("no HTTP answer within 10 s")??;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    let code = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .with_context(|| {
            format!(
                "not an HTTP answer: {:?}",
                line.lines().next().unwrap_or("")
            )
        })?;
    Ok(code)
}

async fn prune(r: &Remote, app: &AppConfig, layout: &Layout, events: &Events) {
    let started = Instant::now();
    let host = Some(r.host.as_str());
    events.started(host, Step::Prune, None);
    match r
        .script(
            "pruning old releases",
            &scripts::prune(layout, app.versions_to_keep),
        )
        .await
    {
        Ok(out) => {
            let text = out.stdout_str();
            let releases = text.lines().filter(|l| l.starts_with("release ")).count();
            let chunks = text.lines().filter(|l| l.starts_with("chunk ")).count();
            events.finished(
                host,
                Step::Prune,
                started.elapsed(),
                Some(format!("removed {releases} releases, {chunks} chunks")),
            );
        }
        Err(e) => events.failed(host, Step::Prune, &e.to_string(), Vec::new()),
    }
}

#[derive(Serialize)]
struct AuditLine<'a> {
    at: String,
    action: &'a str,
    app: &'a str,
    host: &'a str,
    by: &'a str,
    version: &'a str,
    commit: Option<&'a str>,
    from_version: Option<&'a str>,
    outcome: &'a str,
    error: Option<&'a str>,
}

/// Append the outcome to the host's audit log and the local one.
async fn audit(
    r: &Remote,
    layout: &Layout,
    action: &str,
    by: &str,
    commit: Option<&str>,
    o: &HostOutcome,
    events: &Events,
) {
    let line = AuditLine {
        at: now_rfc3339(),
        action,
        app: layout.app(),
        host: &o.host,
        by,
        version: &o.version,
        commit,
        from_version: o.from_version.as_deref(),
        outcome: if o.ok { "ok" } else { "failed" },
        error: o.error.as_deref(),
    };
    let Ok(json) = serde_json::to_string(&line) else {
        return;
    };
    let host = Some(r.host.as_str());
    if let Err(e) = r
        .script("writing the audit log", &scripts::audit(layout, &json))
        .await
    {
        events.failed(host, Step::Audit, &e.to_string(), Vec::new());
    }
    if let Err(e) = append_local_audit(&json) {
        events.failed(
            None,
            Step::Audit,
            &format!("local audit log: {e}"),
            Vec::new(),
        );
    }
}

/// The local audit log, next to the log file.
pub fn local_audit_path() -> Option<PathBuf> {
    crate::logging::log_dir().map(|d| d.join("audit.log"))
}

fn append_local_audit(line: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let Some(path) = local_audit_path() else {
        return Ok(());
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(f, "{line}")
}

#[derive(Clone, Debug, Default)]
pub struct RollbackRequest {
    pub app: String,
    pub hosts: Vec<String>,
    /// Target version; None = the previous good release on each host.
    pub to: Option<String>,
    pub lock_wait: Option<Duration>,
    pub force_unlock: bool,
}

/// Roll back: activate a kept release through the same gated activate step —
/// no build, no upload, no uninstall. Audited like a deploy.
pub async fn rollback(
    engine: &Engine,
    req: RollbackRequest,
    events: &Events,
) -> anyhow::Result<Report> {
    let app = app(engine, &req.app)?.clone();
    let hosts = hosts_for(&app, &req.hosts)?;
    let layout = Layout::new(&app.name);
    let remotes = remotes(engine, &hosts)?;
    let by = plan::deployer();
    let info = LockInfo::new(&by, req.to.as_deref().unwrap_or("previous"), "rollback");
    lock_all(
        &remotes,
        &layout,
        &info,
        req.lock_wait,
        req.force_unlock,
        events,
    )
    .await?;
    let instances = units::unit_instances(&app);
    let outcomes = futures::future::join_all(remotes.iter().map(|r| {
        let app = &app;
        let layout = &layout;
        let instances = &instances;
        let by = &by;
        let to = req.to.clone();
        async move {
            let started = Instant::now();
            let result = async {
                let hist = inspect::host_history(r, layout).await?;
                let target = match &to {
                    Some(v) => {
                        let rel = hist
                            .releases
                            .iter()
                            .find(|x| &x.version == v)
                            .with_context(|| {
                                format!(
                                    "{}: version {v} is not kept on this host (kept: {})",
                                    r.host,
                                    hist.releases
                                        .iter()
                                        .map(|x| x.version.clone())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                )
                            })?;
                        rel.version.clone()
                    }
                    None => hist.previous_good().with_context(|| {
                        format!("{}: no previous good release to roll back to", r.host)
                    })?,
                };
                let prev = activate_gated(r, app, layout, &target, instances, events).await?;
                Ok::<_, anyhow::Error>((target, prev))
            }
            .await;
            let outcome = match result {
                Ok((target, prev)) => HostOutcome {
                    host: r.host.clone(),
                    ok: true,
                    version: target,
                    from_version: prev,
                    error: None,
                    bytes_sent: 0,
                    chunks_sent: 0,
                    elapsed_ms: started.elapsed().as_millis() as u64,
                },
                Err(e) => HostOutcome {
                    host: r.host.clone(),
                    ok: false,
                    version: to.clone().unwrap_or_default(),
                    from_version: None,
                    error: Some(format!("{e:#}")),
                    bytes_sent: 0,
                    chunks_sent: 0,
                    elapsed_ms: started.elapsed().as_millis() as u64,
                },
            };
            audit(r, layout, "rollback", by, None, &outcome, events).await;
            release(r, layout).await;
            events.send(Event::HostDone {
                host: r.host.clone(),
                ok: outcome.ok,
                version: Some(outcome.version.clone()),
                summary: match &outcome.error {
                    None => format!("{} live again", outcome.version),
                    Some(e) => format!("failed: {e}"),
                },
            });
            outcome
        }
    }))
    .await;
    Ok(Report {
        app: app.name.clone(),
        version: req.to.unwrap_or_else(|| "previous".into()),
        artifact_bytes: 0,
        hosts: outcomes,
    })
}
