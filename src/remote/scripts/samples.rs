//! Sample renderings of every host script, for the shellcheck test.

/// Every host script raijin renders, each with sample inputs (odd ones where a value
/// could break quoting), named for messages: what `tests/scripts_lint.rs` runs
/// through `shellcheck -s sh`.
pub fn samples() -> Vec<(String, String)> {
    use super::{
        activate, bootstrap, down, facts, inspect, install, journal, lock, materialize, operate,
        prune, push, show, units,
    };
    use crate::bundle::{DirEntry, FileEntry, LinkEntry, MANIFEST_FORMAT, Manifest};
    use crate::config::load_str;

    let toml = r#"
[hosts.h1]
address = "10.0.0.1"

[apps.shop]
hosts = ["h1"]
artifact = "dist"
kind = "python"
[apps.shop.processes.web]
command = "gunicorn app:wsgi --bind 127.0.0.1:$PORT"
[apps.shop.processes.worker]
command = "worker --id $RAIJIN_INSTANCE"
replicas = 2
[apps.shop.proxy]
domain = "shop.example.com"
process = "web"
port = 8000
[apps.shop.hooks]
post_install = "echo 'it''s $HOME' && migrate"
"#;
    let Ok(config) = load_str(toml, std::path::Path::new("raijin.toml")) else {
        return Vec::new();
    };
    let Some(app) = config.apps.get("shop") else {
        return Vec::new();
    };
    let layout = crate::remote::Layout::new(&app.name);
    let instances = crate::remote::unit_instances(app);
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        version: "v1.2+b".into(),
        created_at: String::new(),
        kind: "python".into(),
        dirs: vec![DirEntry {
            path: "a b".into(),
            mode: 0o755,
        }],
        files: vec![
            FileEntry {
                path: "a b/it's $(x).whl".into(),
                mode: 0o644,
                size: 3,
                sha256: "a".repeat(64),
                chunks: vec!["b".repeat(64)],
            },
            FileEntry {
                path: "-empty".into(),
                mode: 0o600,
                size: 0,
                sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
                chunks: vec![],
            },
        ],
        links: vec![LinkEntry {
            path: "www".into(),
            target: "a b".into(),
        }],
    };
    let units: Vec<(String, String)> = crate::remote::render_units(app, &layout)
        .into_iter()
        .map(|u| (u.name, u.contents))
        .collect();
    let slot_units: Vec<(String, String)> =
        crate::remote::units::render_slot_units(app, &layout, "b")
            .into_iter()
            .map(|u| (u.name, u.contents))
            .collect();
    let slot_instances = crate::remote::slots::instances(app, "b");
    let params = activate::Params {
        id: "0123abcd",
        target: "v1~20261201000000",
        units_timeout_secs: 30,
        confirm_secs: Some(35),
        drain_secs: 30,
        health_host: "shop.test",
        health_path: "/health",
    };
    let query = journal::Query {
        lines: Some(10),
        since: Some("-1h".into()),
        after: None,
        follow: true,
    };
    vec![
        (
            "lock::take".into(),
            lock::take(
                &layout,
                "tok",
                "{\"by\":\"it's me\"}",
                &lock::Take::Break("old"),
                &instances,
                ":",
            ),
        ),
        ("lock::release".into(), lock::release(&layout, "tok")),
        ("push::probe".into(), push::probe(&layout, "v1.2+b")),
        (
            "push::receive_chunks".into(),
            push::receive_chunks(&layout, false),
        ),
        (
            "push::receive_chunks (gzip)".into(),
            push::receive_chunks(&layout, true),
        ),
        (
            "materialize".into(),
            format!(
                "{}{}",
                push::materialize_env(&layout, "v1.2+b", app.kind),
                materialize::materialize_plan(&manifest, materialize::Builder::Cat)
            ),
        ),
        (
            "materialize (perl)".into(),
            format!(
                "{}{}",
                push::materialize_env(&layout, "v1.2+b", app.kind),
                materialize::materialize_plan(&manifest, materialize::Builder::Perl)
            ),
        ),
        (
            "materialize::delta_plan".into(),
            format!(
                "{}{}",
                push::materialize_env(&layout, "v2", app.kind),
                materialize::delta_plan(
                    &manifest,
                    "/var/lib/raijin/shop/releases/v1/wheels",
                    &manifest,
                    materialize::Builder::Perl
                )
            ),
        ),
        (
            "push::rebuilt_lists".into(),
            push::rebuilt_lists(
                &layout,
                "v1",
                "/var/lib/raijin/shop/run/lists.v2",
                (
                    &[
                        super::delta::Piece::Copy { off: 0, len: 10 },
                        super::delta::Piece::Text("it's \"new\" $x\n".into()),
                        super::delta::Piece::Copy { off: 30, len: 5 },
                    ],
                    "{}\n",
                ),
                (&[super::delta::Piece::Text("a\n".into())], "a\n"),
            ),
        ),
        (
            "push::read_manifest".into(),
            push::read_manifest(&layout, "v1"),
        ),
        (
            "push::release_files".into(),
            push::release_files(
                &layout,
                &app.user,
                "v1.2+b",
                &push::ReleaseFiles {
                    manifest_json: "{\"x\": \"RAIJIN_EOF\"}",
                    prebuilt: None,
                    chunks: &["b".repeat(64)],
                    units: &units,
                    site: Some("http://shop.example.com {\n}\n"),
                    instances: &instances,
                    slots: vec![push::SlotFiles {
                        slot: "b",
                        units: &slot_units,
                        instances: &slot_instances,
                        ports: &[18000],
                        site: "http://shop.example.com {\n}\n",
                    }],
                    content: "d",
                    env: "A=\"it's \\$x\"\n",
                    meta_json: "{}",
                },
            ),
        ),
        ("install::app_user".into(), install::app_user(&layout, app)),
        (
            "install::python_env".into(),
            install::python_env(&layout, app, "v1").unwrap_or_default(),
        ),
        (
            "install::hook".into(),
            install::hook(&layout, app, "v1", "echo 'x' \"$Y\""),
        ),
        ("activate::program".into(), activate::program(&layout)),
        (
            "activate::start (kept program)".into(),
            activate::start(&layout, &params, activate::Program::Kept),
        ),
        (
            "activate::start (program sent)".into(),
            activate::start(&layout, &params, activate::Program::Sent),
        ),
        (
            "activate::confirm".into(),
            activate::confirm(&layout, "ab", activate::Word::Healthy),
        ),
        (
            "activate::reject".into(),
            activate::reject(&layout, "ab", "HTTP 500 on 'x'"),
        ),
        ("activate::outcome".into(), activate::outcome(&layout, "ab")),
        ("prune".into(), prune::prune(&layout, 3)),
        ("inspect::history".into(), inspect::history(&layout)),
        ("inspect::status".into(), inspect::status(&layout)),
        (
            "inspect::journal_tail".into(),
            inspect::journal_tail("shop-web.service", 20),
        ),
        (
            "inspect::audit".into(),
            inspect::audit(&layout, "{\"error\":\"it's bad\"}"),
        ),
        (
            "inspect::audit_tail".into(),
            inspect::audit_tail(&layout, 20),
        ),
        ("bootstrap".into(), bootstrap::bootstrap("deploy")),
        (
            "operate::exec".into(),
            operate::exec(app, "echo \"$A\" 'b'"),
        ),
        ("operate::shell".into(), operate::shell(app)),
        (
            "journal::command".into(),
            journal::command(&journal::units(app, &[]), &query),
        ),
        ("facts".into(), facts::facts()),
        (
            "units::restart".into(),
            units::units(
                &layout,
                &["shop-web".into(), "shop-worker".into()],
                units::Action::Restart { force: false },
            ),
        ),
        ("down".into(), down::down(&layout, "shop", false)),
        ("down::purge".into(), down::down(&layout, "shop", true)),
        ("show::units".into(), show::show(&layout, show::Part::Units)),
        ("show::env".into(), show::show(&layout, show::Part::Env)),
        (
            "units::status".into(),
            units::units(&layout, &[], units::Action::Status),
        ),
    ]
}
