//! The Bitwarden adapter, through the `bw` CLI: `bw:ITEM` is the item's password
//! (`bw get password ITEM`), `bw:ITEM/FIELD` a custom field of the item, or its
//! `username`, `password` or `notes` (`bw get item ITEM`).
//!
//! Once per resolution run: a session, then one `bw sync`, then the reads (in
//! parallel). The session is `BW_SESSION` from the environment, or, when
//! `[secrets.options] bw_password_env` names a variable holding the master password,
//! `bw unlock --passwordenv VAR --raw` (the CLI reads the variable itself). The session
//! key reaches later `bw` calls through their environment, never their arguments.
//! `bw_sync = "false"` skips the sync and reads the CLI's local copy of the vault.

use futures::future::BoxFuture;
use serde_json::Value;

use super::process::{self, Run, RunError};
use super::secret::Secret;
use super::{Adapter, Context};
use crate::config::SecretRef;

/// `[secrets.options]` keys this adapter reads.
pub(crate) const PASSWORD_ENV_OPTION: &str = "bw_password_env";
pub(crate) const SYNC_OPTION: &str = "bw_sync";

const SESSION_ENV: &str = "BW_SESSION";

/// The session every `bw` read of one run uses: `None` = inherited `BW_SESSION`.
pub(crate) struct Session(Option<Secret>);

pub(crate) struct Bitwarden;

impl Adapter for Bitwarden {
    fn name(&self) -> &'static str {
        "bw"
    }

    fn resolve<'a>(
        &'a self,
        reference: &'a SecretRef,
        cx: &'a Context,
    ) -> BoxFuture<'a, Result<Secret, String>> {
        Box::pin(async move {
            let SecretRef::Bitwarden { item, field } = reference else {
                return Err(super::mismatch(self, reference));
            };
            let session = match cx.bw.get_or_init(|| prepare(cx)).await {
                Ok(s) => s,
                Err(e) => return Err(e.clone()),
            };
            let session_env: Vec<(&str, &str)> = match &session.0 {
                Some(key) => vec![(SESSION_ENV, key.expose())],
                None => Vec::new(),
            };
            match field {
                None => bw(cx, &["get", "password", item], &session_env)
                    .await
                    .map_err(|e| explain(&e, Some(item))),
                Some(field) => {
                    let json = bw(cx, &["get", "item", item], &session_env)
                        .await
                        .map_err(|e| explain(&e, Some(item)))?;
                    pick_field(&json, item, field)
                }
            }
        })
    }
}

async fn bw(cx: &Context, args: &[&str], env: &[(&str, &str)]) -> Result<Secret, RunError> {
    let mut all = args.to_vec();
    all.push("--nointeraction");
    process::run(
        cx,
        Run {
            label: "bw",
            program: "bw",
            args: &all,
            env,
            stderr_lines: 1,
        },
    )
    .await
}

/// Session, then sync: run once, shared by every `bw:` reference of the run.
async fn prepare(cx: &Context) -> Result<Session, String> {
    let sync = match cx.option(SYNC_OPTION) {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(format!(
                "[secrets.options] {SYNC_OPTION} = \"{other}\": expected \"true\" or \"false\""
            ));
        }
    };
    let inherited = std::env::var_os(SESSION_ENV).is_some_and(|v| !v.is_empty());
    let session = if inherited {
        Session(None)
    } else {
        let Some(var) = cx.option(PASSWORD_ENV_OPTION) else {
            return Err(format!(
                "no Bitwarden session: set {SESSION_ENV} (export {SESSION_ENV}=\"$(bw unlock --raw)\") \
                 or name the variable holding the master password in [secrets.options] {PASSWORD_ENV_OPTION}"
            ));
        };
        if std::env::var_os(var).is_none_or(|v| v.is_empty()) {
            return Err(format!(
                "[secrets.options] {PASSWORD_ENV_OPTION} names the variable {var}, which is not set"
            ));
        }
        let key = bw(cx, &["unlock", "--passwordenv", var, "--raw"], &[])
            .await
            .map_err(|e| format!("unlocking the vault: {}", explain(&e, None)))?;
        Session(Some(key))
    };
    if sync {
        let env: Vec<(&str, &str)> = match &session.0 {
            Some(key) => vec![(SESSION_ENV, key.expose())],
            None => Vec::new(),
        };
        match bw(cx, &["sync"], &env).await {
            Ok(_) | Err(RunError::Empty { .. }) => {}
            Err(e) => {
                let explained = explain(&e, None);
                let hint = if explained == e.to_string() {
                    format!(
                        " (set [secrets.options] {SYNC_OPTION} = \"false\" to read the local copy)"
                    )
                } else {
                    String::new()
                };
                return Err(format!("bw sync: {explained}{hint}"));
            }
        }
    }
    Ok(session)
}

/// The CLI's error with a hint for the states users meet most.
fn explain(e: &RunError, item: Option<&str>) -> String {
    let hint = match (e, e.stderr().unwrap_or_default()) {
        (RunError::NotFound { .. }, _) => {
            " (install the Bitwarden CLI: npm install -g @bitwarden/cli)".to_string()
        }
        (_, s) if s.ends_with("You are not logged in.") => " (run `bw login` first)".to_string(),
        (_, s) if s.ends_with("Vault is locked.") => format!(
            " ({SESSION_ENV} is missing or stale: export {SESSION_ENV}=\"$(bw unlock --raw)\", \
             or set [secrets.options] {PASSWORD_ENV_OPTION})"
        ),
        (_, s) if s.ends_with("Not found.") => match item {
            Some(item) => format!(" (no item matches `{item}`)"),
            None => String::new(),
        },
        _ => String::new(),
    };
    format!("{e}{hint}")
}

/// A field of `bw get item` JSON: a custom field by name first, then the login's
/// `username` or `password`, or the item's `notes`. The parsed copy is scrubbed.
fn pick_field(json: &Secret, item: &str, field: &str) -> Result<Secret, String> {
    let mut parsed: Value = serde_json::from_str(json.expose())
        .map_err(|e| format!("`bw get item {item}` printed something that is not JSON: {e}"))?;
    let result = find_field(&parsed, item, field);
    scrub(&mut parsed);
    result
}

fn find_field(parsed: &Value, item: &str, field: &str) -> Result<Secret, String> {
    let custom: &[Value] = parsed
        .get("fields")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let found = custom
        .iter()
        .find(|f| f.get("name").and_then(Value::as_str) == Some(field))
        .map(|f| f.get("value"))
        .or_else(|| match field {
            "username" => Some(parsed.pointer("/login/username")),
            "password" => Some(parsed.pointer("/login/password")),
            "notes" => Some(parsed.get("notes")),
            _ => None,
        });
    match found {
        Some(Some(Value::String(v))) if !v.is_empty() => Ok(Secret::new(v.clone())),
        Some(_) => Err(format!(
            "field `{field}` of Bitwarden item `{item}` is empty"
        )),
        None => {
            let names: Vec<&str> = custom
                .iter()
                .filter_map(|f| f.get("name").and_then(Value::as_str))
                .collect();
            Err(format!(
                "Bitwarden item `{item}` has no field `{field}` (custom fields: {}; built in: username, password, notes)",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))
        }
    }
}

/// Zero every string of a parsed item before it is dropped.
fn scrub(v: &mut Value) {
    match v {
        Value::String(s) => zeroize::Zeroize::zeroize(s),
        Value::Array(a) => a.iter_mut().for_each(scrub),
        Value::Object(o) => o.values_mut().for_each(scrub),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEM: &str = r#"{"name":"hello-sentry","notes":"n1",
        "login":{"username":"ada","password":"pw1"},
        "fields":[{"name":"dsn","value":"https://k@sentry/1","type":1},
                  {"name":"password","value":"custom-pw","type":1},
                  {"name":"blank","value":null,"type":0}]}"#;

    fn pick(field: &str) -> Result<String, String> {
        pick_field(&Secret::new(ITEM.into()), "hello-sentry", field).map(|s| s.expose().into())
    }

    #[test]
    fn fields_come_from_custom_fields_then_the_login() {
        assert_eq!(pick("dsn"), Ok("https://k@sentry/1".into()));
        assert_eq!(pick("password"), Ok("custom-pw".into()));
        assert_eq!(pick("username"), Ok("ada".into()));
        assert_eq!(pick("notes"), Ok("n1".into()));
    }

    #[test]
    fn missing_and_empty_fields_are_named_without_values() {
        let err = pick("token").unwrap_err();
        assert_eq!(
            err,
            "Bitwarden item `hello-sentry` has no field `token` (custom fields: dsn, password, blank; built in: username, password, notes)"
        );
        assert_eq!(
            pick("blank").unwrap_err(),
            "field `blank` of Bitwarden item `hello-sentry` is empty"
        );
        let err = pick_field(&Secret::new("not json pw1".into()), "x", "f").unwrap_err();
        assert!(!err.contains("pw1"), "{err}");
    }
}
