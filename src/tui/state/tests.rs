//! Key handling of the console state: keys reach the overlays, the Logs filter
//! line and, through the keymap, the actions, as the runtime would feed them.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;

fn app() -> App {
    App::new(
        vec![
            AppInfo {
                name: "hello".into(),
                hosts: vec!["h1".into(), "h2".into()],
            },
            AppInfo {
                name: "pyhello".into(),
                hosts: vec!["h1".into()],
            },
        ],
        vec![HostInfo {
            name: "h1".into(),
            addr: "10.0.0.1".into(),
            link: crate::ssh::LinkState::Idle,
            rtt: None,
        }],
        Keymap::default(),
        Instant::now(),
    )
}

fn key(app: &mut App, c: KeyCode) -> Vec<Effect> {
    app.update(
        Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)),
        Instant::now(),
    )
}

#[test]
fn vim_keys_and_arrows_move_the_same_selection() {
    let mut a = app();
    key(&mut a, KeyCode::Char('j'));
    assert_eq!(a.app_sel, 1);
    key(&mut a, KeyCode::Up);
    assert_eq!(a.app_sel, 0);
    key(&mut a, KeyCode::Up);
    assert_eq!(a.app_sel, 0);
}

#[test]
fn deploy_plans_then_confirms_then_starts() {
    let mut a = app();
    let fx = key(&mut a, KeyCode::Char('d'));
    assert!(matches!(&fx[..], [Effect::PlanDeploy { app, .. }] if app == "hello"));
    let now = Instant::now();
    a.update(
        Msg::DeployPlanned {
            app: "hello".into(),
            plan: Ok(DeployPlan {
                version: "v2".into(),
                commits: vec!["abc fix".into()],
                unresolved: None,
            }),
        },
        now,
    );
    let Some(Overlay::Confirm(c)) = &a.overlay else {
        panic!("no confirm")
    };
    assert!(matches!(&c.pending, Pending::Deploy { version, .. } if version == "v2"));
    // `n` backs out without starting anything.
    assert!(key(&mut a, KeyCode::Char('n')).is_empty());
    assert!(a.overlay.is_none() && a.deploy.run.is_none());
}

#[test]
fn confirming_a_deploy_switches_to_the_deploy_tab() {
    let mut a = app();
    a.tab = Tab::Logs;
    a.overlay = Some(Overlay::Confirm(Confirm {
        title: String::new(),
        lines: vec![],
        pending: Pending::Deploy {
            app: "hello".into(),
            hosts: vec!["h1".into()],
            version: "v2".into(),
        },
    }));
    let fx = key(&mut a, KeyCode::Char('y'));
    assert!(
        matches!(&fx[..], [Effect::Deploy { req, .. }] if req.version.as_deref() == Some("v2"))
    );
    assert_eq!(a.tab, Tab::Deploy);
    assert!(a.deploy.run.as_ref().is_some_and(|r| r.running()));
    // Quitting now asks first.
    key(&mut a, KeyCode::Char('q'));
    assert!(!a.quit);
    let fx = key(&mut a, KeyCode::Char('y'));
    assert!(a.quit);
    assert!(matches!(&fx[..], [Effect::Cancel { .. }]));
}

#[test]
fn filter_line_takes_typing_and_esc_clears_it() {
    let mut a = app();
    key(&mut a, KeyCode::Char('/'));
    assert_eq!(a.tab, Tab::Logs);
    key(&mut a, KeyCode::Char('q'));
    assert!(!a.quit, "q is text while the filter is typed");
    assert_eq!(a.logs.filter, "q");
    key(&mut a, KeyCode::Esc);
    assert!(a.logs.filter.is_empty() && !a.logs.editing);
}

#[test]
fn s_asks_the_loop_for_a_shell_on_the_apps_first_host() {
    let mut a = app();
    assert!(key(&mut a, KeyCode::Char('s')).is_empty());
    assert_eq!(a.shell_request, Some(("hello".into(), "h1".into())));
}

#[test]
fn palette_runs_the_chosen_action() {
    let mut a = app();
    key(&mut a, KeyCode::Char(':'));
    for c in "tab_hist".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    let fx = key(&mut a, KeyCode::Enter);
    assert_eq!(a.tab, Tab::History);
    assert!(matches!(&fx[..], [Effect::LoadHistory { app, .. }] if app == "hello"));
}

#[test]
fn host_key_prompt_answers_through_its_channel() {
    let mut a = app();
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    a.prompts.push(Prompt::HostKey {
        host: "h1".into(),
        addr: "10.0.0.1:22".into(),
        fingerprint: "SHA256:x".into(),
        reply: tx,
    });
    key(&mut a, KeyCode::Char('d'));
    assert!(rx.try_recv().is_err(), "other keys do not answer");
    key(&mut a, KeyCode::Char('y'));
    assert_eq!(rx.try_recv(), Ok(true));
    assert!(a.prompts.is_empty());
}

#[test]
fn remapped_keys_run_their_action() {
    let mut o = std::collections::BTreeMap::new();
    o.insert("quit".to_string(), vec!["ctrl-q".to_string()]);
    let mut a = app();
    a.keymap = Keymap::with_overrides(&o).unwrap();
    key(&mut a, KeyCode::Char('q'));
    assert!(!a.quit);
    a.update(
        Msg::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL)),
        Instant::now(),
    );
    assert!(a.quit);
}

#[test]
fn errors_stay_until_esc_and_toasts_clear_themselves() {
    let mut a = app();
    let t0 = Instant::now();
    a.toast(Level::Ok, "deploy hello v2: ok on 2");
    key(&mut a, KeyCode::Char('d'));
    a.update(
        Msg::DeployPlanned {
            app: "hello".into(),
            plan: Err("the version command `false` failed".into()),
        },
        t0,
    );
    a.update(Msg::Tick, t0 + TOAST_FOR * 3);
    assert!(
        a.toasts.iter().all(|t| t.level != Level::Error),
        "no error is a toast"
    );
    assert_eq!(
        a.errors,
        ["cannot plan hello: the version command `false` failed"]
    );
    // Esc dismisses the error and does nothing else.
    a.focus = Focus::Main;
    key(&mut a, KeyCode::Esc);
    assert!(a.errors.is_empty());
    assert_eq!(a.focus, Focus::Main);
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.focus, Focus::Apps);
}

fn units(host: &str, pid: u32, error: Option<&str>) -> crate::inspect::HostUnits {
    crate::inspect::HostUnits {
        host: host.into(),
        current: Some("v2".into()),
        units: vec![crate::inspect::UnitDetail {
            unit: "hello-web.service".into(),
            process: "web".into(),
            active: "active".into(),
            sub: "running".into(),
            main_pid: Some(pid),
            ..Default::default()
        }],
        error: error.map(String::from),
    }
}

#[test]
fn restart_stop_and_start_ask_then_call_control_and_report() {
    use crate::operate::UnitAction;
    let mut a = app();
    for (c, action) in [
        ('e', UnitAction::Restart { force: false }),
        ('S', UnitAction::Stop),
        ('u', UnitAction::Start),
    ] {
        assert!(
            key(&mut a, KeyCode::Char(c)).is_empty(),
            "nothing before yes"
        );
        let Some(Overlay::Confirm(confirm)) = &a.overlay else {
            panic!("no confirmation for {c}")
        };
        assert!(confirm.lines.contains(&"hosts    h1, h2".to_string()));
        let fx = key(&mut a, KeyCode::Char('y'));
        assert!(
            matches!(&fx[..], [Effect::Control { req }]
                if req.app == "hello" && req.hosts == ["h1", "h2"] && req.action == action),
            "{c}: {fx:?}"
        );
        assert_eq!(a.tab, Tab::Status);
    }
    // Every host did it: a toast, and the Status tab has the new main PIDs.
    let fx = a.update(
        Msg::Controlled {
            app: "hello".into(),
            action: UnitAction::Restart { force: false },
            result: Ok(vec![units("h1", 501, None), units("h2", 502, None)]),
        },
        Instant::now(),
    );
    assert!(matches!(&fx[..], [Effect::LoadStatus { app }] if app == "hello"));
    assert!(a.errors.is_empty());
    assert_eq!(
        a.toasts.last().map(|t| t.text.as_str()),
        Some("restart hello: done on h1, h2")
    );
    assert_eq!(
        a.status
            .unit("hello", "h2", "hello-web.service")
            .and_then(|u| u.main_pid),
        Some(502)
    );
    // A host that failed is an error that stays.
    a.update(
        Msg::Controlled {
            app: "hello".into(),
            action: UnitAction::Stop,
            result: Ok(vec![units("h1", 501, None), units("h2", 502, Some("boom"))]),
        },
        Instant::now(),
    );
    assert_eq!(a.errors, ["stop hello failed on h2: boom"]);
}

#[test]
fn with_the_hosts_panel_focused_control_acts_on_the_selected_host() {
    let mut a = app();
    a.focus = Focus::Hosts;
    key(&mut a, KeyCode::Char('e'));
    let fx = key(&mut a, KeyCode::Char('y'));
    assert!(matches!(&fx[..], [Effect::Control { req }] if req.hosts == ["h1"]));
}

#[test]
fn the_audit_tab_loads_the_selected_apps_log_and_follows_the_selection() {
    let mut a = app();
    let fx = key(&mut a, KeyCode::Char('5'));
    assert_eq!(a.tab, Tab::Audit);
    assert!(matches!(&fx[..], [Effect::LoadAudit { app, .. }] if app == "hello"));
    let fx = key(&mut a, KeyCode::Char('j'));
    assert!(matches!(&fx[..], [Effect::LoadAudit { app, .. }] if app == "pyhello"));
}

#[test]
fn without_a_version_source_the_deploy_dialog_takes_a_typed_version() {
    let mut a = app();
    key(&mut a, KeyCode::Char('d'));
    a.update(
        Msg::DeployPlanned {
            app: "hello".into(),
            plan: Ok(DeployPlan {
                unresolved: Some("cannot derive a version from git".into()),
                ..DeployPlan::default()
            }),
        },
        Instant::now(),
    );
    assert!(a.errors.is_empty(), "asked, not failed");
    assert!(matches!(&a.overlay, Some(Overlay::Version(v)) if v.hosts == ["h1", "h2"]));
    // Keys are text here: q does not quit; a bad version is refused in the dialog.
    for c in "q/x".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    assert!(!a.quit);
    assert!(key(&mut a, KeyCode::Enter).is_empty());
    let Some(Overlay::Version(v)) = &a.overlay else {
        panic!("the dialog closed on a bad version")
    };
    assert!(v.error.is_some(), "{v:?}");
    for _ in 0..3 {
        key(&mut a, KeyCode::Backspace);
    }
    for c in "v2.0".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    let fx = key(&mut a, KeyCode::Enter);
    assert!(
        matches!(&fx[..], [Effect::Deploy { req, .. }]
            if req.version.as_deref() == Some("v2.0") && req.hosts == ["h1", "h2"]),
        "{fx:?}"
    );
}

#[test]
fn the_palette_keeps_its_history() {
    let mut a = app();
    key(&mut a, KeyCode::Char(':'));
    for c in "tab_aud".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.tab, Tab::Audit);
    key(&mut a, KeyCode::Char('1'));
    // Reopened, Up brings the last command back and Enter runs it again.
    key(&mut a, KeyCode::Char(':'));
    key(&mut a, KeyCode::Up);
    let Some(Overlay::Palette(p)) = &a.overlay else {
        panic!("no palette")
    };
    assert_eq!(p.input, "tab_audit");
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.tab, Tab::Audit);
    assert_eq!(a.palette_history, ["tab_audit"]);
}

#[test]
fn in_the_status_tab_control_acts_on_the_selected_units_process_and_host() {
    let mut a = app();
    let now = Instant::now();
    a.update(
        Msg::Status {
            app: "hello".into(),
            hosts: ["h1", "h2"]
                .map(|h| crate::inspect::HostStatus {
                    host: h.into(),
                    current: Some("v2".into()),
                    ..Default::default()
                })
                .into(),
        },
        now,
    );
    a.update(
        Msg::Units {
            app: "hello".into(),
            hosts: Ok(vec![units("h1", 501, None), units("h2", 502, None)]),
        },
        now,
    );
    key(&mut a, KeyCode::Char('4'));
    key(&mut a, KeyCode::Tab);
    key(&mut a, KeyCode::Tab);
    assert_eq!(a.focus, Focus::Main);
    key(&mut a, KeyCode::Char('j'));
    assert_eq!(
        a.status.selected_row().map(|r| (r.host, r.process)),
        Some(("h2".to_string(), "web".to_string()))
    );
    key(&mut a, KeyCode::Char('e'));
    let Some(Overlay::Confirm(c)) = &a.overlay else {
        panic!("no confirmation")
    };
    assert_eq!(
        c.lines[..2],
        ["restart the web units of hello on", "hosts    h2"]
    );
    let fx = key(&mut a, KeyCode::Char('y'));
    assert!(
        matches!(&fx[..], [Effect::Control { req }]
            if req.processes == ["web"] && req.hosts == ["h2"]),
        "{fx:?}"
    );
}
