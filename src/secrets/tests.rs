//! Resolution runs with the 1Password and Doppler stand-ins (tests/fixtures/standins)
//! first on the vendor CLIs' PATH.

use std::time::Instant;

use super::*;

fn standins_path() -> OsString {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/standins");
    let mut paths = vec![dir];
    if let Some(p) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(paths).expect("join PATH")
}

fn cx(timeout_secs: u64, options: &[(&str, &str)]) -> Context {
    let cfg = SecretsConfig {
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        timeout_secs,
    };
    let mut cx = Context::new(&cfg);
    cx.path = Some(standins_path());
    cx
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn one(cx: &Context, value: &str) -> Result<String, String> {
    let mut r = resolve_with(cx, &vars(&[("K", value)])).await;
    r.remove(0).value.map(|s| s.expose().to_string())
}

#[tokio::test]
async fn plain_values_pass_through() {
    let cx = cx(2, &[]);
    assert_eq!(
        one(&cx, "postgres://db/x").await,
        Ok("postgres://db/x".into())
    );
    assert_eq!(one(&cx, "").await, Ok(String::new()));
}

#[tokio::test]
async fn onepassword_standin() {
    let cx = cx(1, &[]);
    assert_eq!(
        one(&cx, "op://Ops/hello-db/password").await,
        Ok("op-db-password".into())
    );
    assert_eq!(
        one(&cx, "op://Ops/hello-smtp/smtp/password").await,
        Ok("op-smtp-password".into())
    );
    let err = one(&cx, "op://Ops/nope/password").await.unwrap_err();
    assert_eq!(
        err,
        "`op` failed (exit status 1): could not read secret 'op://Ops/nope/password': could not get item Ops/nope: \"nope\" isn't an item in the \"Ops\" vault. Specify the item with its UUID, name, or domain."
    );
    let started = Instant::now();
    let err = one(&cx, "op://Slow/item/field").await.unwrap_err();
    assert_eq!(
        err,
        "`op` did not answer within 1 s and was stopped ([secrets] timeout_secs)"
    );
    // The stand-in sleeps 30 s: the timeout stopped it (a generous bound; the time it
    // takes is a benchmark, scripts/bench-timings).
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn doppler_standin() {
    let cx = cx(
        1,
        &[("doppler_project", "hello"), ("doppler_config", "prd")],
    );
    assert_eq!(
        one(&cx, "doppler:STRIPE_KEY").await,
        Ok("doppler-stripe-key".into())
    );
    assert_eq!(
        one(&cx, "doppler:ARGS").await,
        Ok("project=hello config=prd".into())
    );
    assert_eq!(
        one(&cx, "doppler:NOPE").await.unwrap_err(),
        "`doppler` failed (exit status 1): Doppler Error: Could not find requested secret: NOPE"
    );
    let err = one(&cx, "doppler:SLOW").await.unwrap_err();
    assert!(err.contains("did not answer within 1 s"), "{err}");
    let bare = self::cx(1, &[]);
    assert_eq!(
        one(&bare, "doppler:ARGS").await,
        Ok("project= config=".into())
    );
}

#[tokio::test]
async fn missing_vendor_cli_is_named() {
    let mut cx = cx(1, &[]);
    cx.path = Some(OsString::from("/nonexistent"));
    let err = one(&cx, "doppler:STRIPE_KEY").await.unwrap_err();
    assert_eq!(
        err,
        "`doppler` was not found on PATH (install the Doppler CLI: https://docs.doppler.com/docs/cli)"
    );
}

#[tokio::test]
async fn env_and_cmd() {
    let cx = cx(1, &[]);
    let home = std::env::var("HOME").unwrap_or_default();
    if !home.is_empty() {
        assert_eq!(one(&cx, "env:HOME").await, Ok(home));
    }
    assert_eq!(
        one(&cx, "env:RAIJIN_TEST_SURELY_UNSET_X9")
            .await
            .unwrap_err(),
        "variable RAIJIN_TEST_SURELY_UNSET_X9 is not set"
    );
    assert_eq!(one(&cx, "cmd:printf 'a b\\n'").await, Ok("a b".into()));
    assert_eq!(
        one(&cx, "cmd:echo oops >&2; exit 3").await.unwrap_err(),
        "`sh -c` failed (exit status 3): oops"
    );
    assert_eq!(
        one(&cx, "cmd:true").await.unwrap_err(),
        "`sh -c` printed an empty value"
    );
    // A failing command that printed a value and echoed it to stderr: blanked out.
    let err = one(&cx, "cmd:echo hunter22; echo bad hunter22 >&2; exit 1")
        .await
        .unwrap_err();
    assert_eq!(err, "`sh -c` failed (exit status 1): bad <redacted>");
}

/// Each command waits until all three have started: resolved one after another, the
/// first would wait for the others forever and time out.
#[tokio::test]
async fn references_resolve_in_parallel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display();
    let cx = cx(10, &[]);
    let cmd = |me: &str| {
        format!(
            "cmd:touch {d}/{me}; while [ ! -e {d}/A ] || [ ! -e {d}/B ] || [ ! -e {d}/C ]; do sleep 0.02; done; echo {me}"
        )
    };
    let v = vars(&[("A", &cmd("A")), ("B", &cmd("B")), ("C", &cmd("C"))]);
    let r = collect(resolve_with(&cx, &v).await).expect("resolves");
    let got: Vec<(&str, &str)> = r.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
    assert_eq!(got, [("A", "A"), ("B", "B"), ("C", "C")]);
}

#[cfg(unix)]
#[tokio::test]
async fn a_timeout_stops_the_whole_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    let cx = cx(1, &[]);
    let command = format!("cmd:echo $$ > {}; sleep 30; echo late", pidfile.display());
    let err = one(&cx, &command).await.unwrap_err();
    assert!(err.contains("did not answer within 1 s"), "{err}");
    let pgid = std::fs::read_to_string(&pidfile).expect("pid written");
    let pgid = pgid.trim();
    // The group (sh and its sleep) is gone once reaped.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let alive = std::process::Command::new("sh")
            .args([
                "-c",
                &format!("ps -e -o pgid=,stat= | awk '$1 == {pgid} && $2 !~ /^Z/'"),
            ])
            .output()
            .expect("ps");
        if alive.stdout.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "process group {pgid} still running: {}",
            String::from_utf8_lossy(&alive.stdout)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_failing_key_is_reported_with_its_adapter() {
    let cx = cx(1, &[]);
    let v = vars(&[
        ("RUST_LOG", "info"),
        ("DB", "op://Ops/nope/password"),
        ("STRIPE", "doppler:MISSING"),
        ("SLOW", "doppler:SLOW"),
        ("TOKEN", "env:RAIJIN_TEST_SURELY_UNSET_Y7"),
        ("SIGNING", "cmd:exit 4"),
        ("BAD", "keyring:only-service"),
        ("OK", "cmd:echo fine"),
    ]);
    let err = collect(resolve_with(&cx, &v).await).unwrap_err();
    let got: Vec<(&str, &str)> = err.0.iter().map(|e| (e.key.as_str(), e.adapter)).collect();
    assert_eq!(
        got,
        [
            ("DB", "op"),
            ("STRIPE", "doppler"),
            ("SLOW", "doppler"),
            ("TOKEN", "env"),
            ("SIGNING", "cmd"),
            ("BAD", "keyring"),
        ]
    );
    let text = err.to_string();
    assert!(
        text.starts_with("6 secrets could not be resolved:\n  DB (op): `op` failed"),
        "{text}"
    );
    assert!(
        text.contains("\n  SIGNING (cmd): `sh -c` failed (exit status 4) with no error output"),
        "{text}"
    );
    assert!(text.contains("\n  BAD (keyring): not a valid reference: a keyring reference needs a service and a name"), "{text}");
    assert!(!text.contains("fine"), "{text}");
}

#[tokio::test]
async fn unknown_options_are_refused() {
    let cx = cx(1, &[("bw_pasword_env", "X")]);
    let err = one(&cx, "cmd:echo x").await.unwrap_err();
    assert_eq!(
        err,
        "unknown [secrets.options] `bw_pasword_env` (did you mean `bw_password_env`?) (known: bw_password_env, bw_sync, doppler_project, doppler_config)"
    );
    // Plain values do not care.
    assert_eq!(one(&cx, "x").await, Ok("x".into()));
}

#[tokio::test]
async fn bitwarden_without_a_session_says_how_to_get_one() {
    // Only meaningful when BW_SESSION is not set in the test environment.
    if std::env::var_os("BW_SESSION").is_some() {
        return;
    }
    let cx = cx(1, &[]);
    let err = one(&cx, "bw:item").await.unwrap_err();
    assert!(
        err.starts_with("no Bitwarden session: set BW_SESSION"),
        "{err}"
    );
    let cx = self::cx(1, &[("bw_password_env", "RAIJIN_TEST_SURELY_UNSET_Z5")]);
    let err = one(&cx, "bw:item/field").await.unwrap_err();
    assert_eq!(
        err,
        "[secrets.options] bw_password_env names the variable RAIJIN_TEST_SURELY_UNSET_Z5, which is not set"
    );
    let cx = self::cx(1, &[("bw_sync", "maybe")]);
    let err = one(&cx, "bw:item").await.unwrap_err();
    assert_eq!(
        err,
        "[secrets.options] bw_sync = \"maybe\": expected \"true\" or \"false\""
    );
}
