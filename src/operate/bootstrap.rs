//! `host bootstrap`: prepare a host for raijin, once (see
//! [`crate::remote::scripts::bootstrap`] for what the script does).

use super::OperateError;
use crate::engine::Engine;
use crate::remote::scripts::bootstrap as script;

/// A host that is ready for raijin.
#[derive(Clone, Debug)]
pub struct Bootstrapped {
    pub host: String,
    /// The user raijin logs in as there (the deploy user).
    pub user: String,
    /// What the script reported (the host's facts as recorded).
    pub report: String,
}

/// Run the bootstrap script as root on `host`.
pub async fn bootstrap(engine: &Engine, host: &str) -> Result<Bootstrapped, OperateError> {
    let h = engine.host(host)?;
    let user = h.login_user().to_string();
    let out = h
        .script("bootstrapping the host", &script::bootstrap(&user))
        .await?;
    Ok(Bootstrapped {
        host: host.to_string(),
        user,
        report: out.stdout_str(),
    })
}
