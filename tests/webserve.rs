//! Production web serving on the testbed: the proxied web process starts beside the
//! old one, is checked on its own ports, gets the traffic, and the old one drains
//! before it stops, so an app that needs 8 s to boot deploys and rolls back under a
//! 20 ms request loop with no failed request and a slow request across the switch
//! completes; a release that never turns healthy never gets traffic; replicas switch
//! together; `tls = "internal"` serves HTTPS from Caddy's local authority.

#[path = "common/apps.rs"]
mod apps;
mod common;
#[path = "common/load.rs"]
mod load;

use std::process::{Command, Stdio};
use std::time::Duration;

use apps::{binary_app, deploy, fresh, ready, report, run};
use common::{Testbed, stderr, stdout};
use load::Load;

fn with_proxy(body: &str, extra: &str) -> String {
    body.replace(
        "health_path = \"/health\"\n",
        &format!("health_path = \"/health\"\n{extra}"),
    )
}

/// The status of `app` on its first host, as JSON.
fn status(cfg: &std::path::Path, app: &str) -> serde_json::Value {
    let out = run(cfg, &["status", app, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    v[0]["hosts"][0].clone()
}

/// Wait until `pred` holds for the host's answer to `cmd` (bounded).
fn wait_host(tb: &Testbed, host: &str, cmd: &str, what: &str, pred: impl Fn(&str) -> bool) {
    let mut out = String::new();
    let ok = common::wait_until(Duration::from_secs(60), || {
        out = tb.ssh(host, cmd);
        pred(&out)
    });
    assert!(ok, "waiting for {what}: {out}");
}

#[test]
fn an_app_that_boots_in_8_s_deploys_and_rolls_back_with_no_failed_request() {
    let Some(tb) = ready() else { return };
    let host = "h1";
    let app = "tslow";
    fresh(tb, app, &[host]);
    let body = with_proxy(
        &binary_app(
            tb,
            app,
            &[host],
            9190,
            "HELLO_START_DELAY_MS = \"8000\"\n",
            "",
        ),
        "health_timeout_secs = 30\ndrain_secs = 5\n",
    );
    let (_d, cfg) = tb.temp_config(&body);
    let first = deploy(&cfg, app, "w1");
    assert!(first.status.success(), "{}", stderr(&first));
    let load = Load::start(tb, host, "tslow.test");

    // Deploy w2; 7 s after it starts in its slot, a 3 s request goes to w1, across
    // the switch; w1 drains for 5 s after it, longer than the request has left.
    let mut child = Command::new(env!("CARGO_BIN_EXE_raijin"))
        .arg("-c")
        .arg(&cfg)
        .args(["deploy", app, "--version", "w2", "--yes", "--json"])
        .env_remove("SSH_AUTH_SOCK")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(out));
    let started = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("beside the serving release"));
    assert!(started, "the new release never started in a slot");
    std::thread::sleep(Duration::from_secs(7));
    let slow = std::thread::spawn({
        let ssh_config = tb.ssh_config();
        move || {
            Command::new("ssh")
                .arg("-F")
                .arg(ssh_config)
                .args([
                    "-o",
                    "BatchMode=yes",
                    "tb-h1",
                    "curl -s -m 20 -w ' %{http_code}' -H 'Host: tslow.test' http://127.0.0.1/slow/3000",
                ])
                .output()
                .unwrap()
        }
    });
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let done = child.wait().unwrap();
    assert!(done.success(), "{}", rest.join("\n"));
    let slow = slow.join().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&slow.stdout),
        "slow 3000 from w1\n 200",
        "the request across the switch"
    );
    assert_eq!(apps::curl(tb, host, "tslow.test", "/version"), "w2\n");

    // Once w1's slot has drained and stopped, roll back: w1 boots again, 8 s, while
    // w2 serves.
    let st = status(&cfg, app);
    let standby = st["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["serving"] == false)
        .map(|s| s["slot"].as_str().unwrap().to_string())
        .expect("a standby slot");
    wait_host(
        tb,
        host,
        &format!("systemctl is-active {app}-web@{standby}1.service || true"),
        "w1's slot to stop after draining",
        |s| s.trim() == "inactive",
    );
    let back = run(&cfg, &["rollback", app, "--yes"]);
    assert!(back.status.success(), "{}", stderr(&back));
    assert_eq!(apps::curl(tb, host, "tslow.test", "/version"), "w1\n");
    let (requests, failed) = load.counts();
    println!(
        "{requests} requests through a deploy and a rollback of an 8 s app, {} failed",
        failed.len()
    );
    assert!(requests > 300, "{requests}");
    assert!(failed.is_empty(), "{failed:?}");
}

#[test]
fn a_release_that_never_turns_healthy_never_gets_the_traffic() {
    let Some(tb) = ready() else { return };
    let host = "h2";
    let app = "tnever";
    fresh(tb, app, &[host]);
    let good = with_proxy(
        &binary_app(tb, app, &[host], 9191, "", ""),
        "health_timeout_secs = 5\n",
    );
    let (_d, cfg) = tb.temp_config(&good);
    assert!(deploy(&cfg, app, "n1").status.success());
    let load = Load::start(tb, host, "tnever.test");
    std::fs::write(
        &cfg,
        with_proxy(
            &binary_app(tb, app, &[host], 9191, "HELLO_FAIL_HEALTH = \"1\"\n", ""),
            "health_timeout_secs = 5\n",
        ),
    )
    .unwrap();
    let out = deploy(&cfg, app, "n2");
    assert!(!out.status.success());
    let err = report(&out)["hosts"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        err.contains("health check failed") && err.contains("n1 is serving again"),
        "{err}"
    );
    // n2 never got traffic, and its process is stopped.
    let st = status(&cfg, app);
    assert_eq!(st["current"], "n1");
    let slots = st["slots"].as_array().unwrap();
    let serving: Vec<&serde_json::Value> = slots.iter().filter(|s| s["serving"] == true).collect();
    assert_eq!(serving.len(), 1, "{st}");
    assert_eq!(serving[0]["release"], "n1");
    let n2_slot = slots
        .iter()
        .find(|s| s["release"] == "n2")
        .expect("n2's slot");
    let unit = format!("{app}-web@{}1.service", n2_slot["slot"].as_str().unwrap());
    assert_eq!(
        tb.ssh(host, &format!("systemctl is-active {unit} || true"))
            .trim(),
        "inactive"
    );
    let hist = run(&cfg, &["history", app, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&hist.stdout).unwrap();
    let n2 = v[0]["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["version"] == "n2")
        .cloned()
        .unwrap();
    assert_eq!(n2["bad"], true);
    let (requests, failed) = load.counts();
    assert!(requests > 50, "{requests}");
    assert!(failed.is_empty(), "{failed:?}");
}

#[test]
fn replicas_switch_together_and_status_says_which_slot_serves() {
    let Some(tb) = ready() else { return };
    let host = "h3";
    let app = "trepl";
    fresh(tb, app, &[host]);
    let body = binary_app(tb, app, &[host], 9192, "", "").replace(
        "command = \"./hello serve\"\n",
        "command = \"./hello serve\"\nreplicas = 2\n",
    );
    let (_d, cfg) = tb.temp_config(&body);
    assert!(deploy(&cfg, app, "p1").status.success());
    assert!(deploy(&cfg, app, "p2").status.success());
    let st = status(&cfg, app);
    let slots = st["slots"].as_array().unwrap();
    let find = |release: &str| {
        slots
            .iter()
            .find(|s| s["release"] == release)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        (find("p1")["slot"].as_str(), find("p1")["serving"].as_bool()),
        (Some("a"), Some(false))
    );
    assert_eq!(
        (find("p2")["slot"].as_str(), find("p2")["serving"].as_bool()),
        (Some("b"), Some(true))
    );
    let states = tb.ssh(
        host,
        &format!("systemctl is-active {app}-web@b1.service {app}-web@b2.service; cat /etc/caddy/raijin/{app}.caddy"),
    );
    assert!(states.starts_with("active\nactive\n"), "{states}");
    assert!(
        states.contains("reverse_proxy 127.0.0.1:19192 127.0.0.1:19193 {"),
        "{states}"
    );
    for port in [19192, 19193] {
        assert_eq!(
            tb.ssh(host, &format!("curl -s http://127.0.0.1:{port}/version")),
            "p2\n",
            "replica on {port}"
        );
    }
    let text = stdout(&run(&cfg, &["status", app]));
    assert!(text.contains("slot b: p2 (serving)"), "{text}");
}

#[test]
fn internal_tls_serves_https_from_caddys_local_authority() {
    let Some(tb) = ready() else { return };
    let host = "h2";
    let app = "ttls";
    fresh(tb, app, &[host]);
    let body = with_proxy(
        &binary_app(tb, app, &[host], 9193, "", ""),
        "tls = \"internal\"\n",
    );
    let (_d, cfg) = tb.temp_config(&body);
    let out = deploy(&cfg, app, "t1");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    // HTTPS with Caddy's local root certificate, HTTP redirected to it.
    let ca = "/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt";
    let https = tb.ssh(
        host,
        &format!(
            "curl -s --cacert {ca} --resolve ttls.test:443:127.0.0.1 https://ttls.test/version; \
             curl -s -o /dev/null -w '%{{http_code}} %{{redirect_url}}' -H 'Host: ttls.test' http://127.0.0.1/version"
        ),
    );
    assert_eq!(https, "t1\n308 https://ttls.test/version", "{https}");
    // The health check went through HTTPS too: a second deploy passes it again.
    let again = deploy(&cfg, app, "t2");
    assert!(again.status.success(), "{}", stderr(&again));
    let https = tb.ssh(
        host,
        &format!(
            "curl -s --cacert {ca} --resolve ttls.test:443:127.0.0.1 https://ttls.test/version"
        ),
    );
    assert_eq!(https, "t2\n");
}
