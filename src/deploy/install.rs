//! The install step on one host: the app user and directories, the `pre_install`
//! hook, a python app's virtualenv, the `post_install` hook; and running any of the
//! app's hooks as the app user with the release's environment.

use std::time::Instant;

use anyhow::bail;

use crate::config::AppConfig;
use crate::engine::Host;
use crate::engine::events::{Events, Step};
use crate::remote::Layout;
use crate::remote::scripts::install as scripts;

/// The hooks of an app, by the point of the deploy they run at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hook {
    PreInstall,
    PostInstall,
    PostActivate,
    OnFailure,
}

impl Hook {
    fn name(self) -> &'static str {
        match self {
            Hook::PreInstall => "pre_install",
            Hook::PostInstall => "post_install",
            Hook::PostActivate => "post_activate",
            Hook::OnFailure => "on_failure",
        }
    }

    fn command(self, app: &AppConfig) -> Option<&String> {
        match self {
            Hook::PreInstall => app.hooks.pre_install.as_ref(),
            Hook::PostInstall => app.hooks.post_install.as_ref(),
            Hook::PostActivate => app.hooks.post_activate.as_ref(),
            Hook::OnFailure => app.hooks.on_failure.as_ref(),
        }
    }
}

/// Install: the pre_install hook, the venv of a python app, the post_install hook
/// (the app user and its directories exist since the push's probe).
pub(crate) async fn install(
    r: &Host,
    app: &AppConfig,
    layout: &Layout,
    release: &str,
    events: &Events,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let host = Some(r.host.as_str());
    events.started(host, Step::Install, None);
    let result = async {
        run_hook(r, app, layout, release, Hook::PreInstall, events).await?;
        if let Some(script) = scripts::python_env(layout, app, release) {
            r.script_streamed(
                "installing the python environment",
                &script,
                events,
                Step::Install,
            )
            .await?;
        }
        run_hook(r, app, layout, release, Hook::PostInstall, events).await?;
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
pub(crate) async fn run_hook(
    r: &Host,
    app: &AppConfig,
    layout: &Layout,
    release: &str,
    which: Hook,
    events: &Events,
) -> anyhow::Result<()> {
    let Some(cmd) = which.command(app) else {
        return Ok(());
    };
    let which = which.name();
    let started = Instant::now();
    let host = Some(r.host.as_str());
    events.started(host, Step::Hook, Some(format!("{which}: {cmd}")));
    match r
        .script_streamed(
            &format!("the {which} hook"),
            &scripts::hook(layout, app, release, cmd),
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
