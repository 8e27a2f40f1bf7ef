//! The `env:NAME` adapter: a variable of the environment raijin runs in.

use futures::future::BoxFuture;

use super::secret::Secret;
use super::{Adapter, Context};
use crate::config::SecretRef;

pub(crate) struct Env;

impl Adapter for Env {
    fn name(&self) -> &'static str {
        "env"
    }

    fn resolve<'a>(
        &'a self,
        reference: &'a SecretRef,
        _cx: &'a Context,
    ) -> BoxFuture<'a, Result<Secret, String>> {
        Box::pin(async move {
            let SecretRef::Env { name } = reference else {
                return Err(super::mismatch(self, reference));
            };
            match std::env::var_os(name) {
                None => Err(format!("variable {name} is not set")),
                Some(v) if v.is_empty() => Err(format!("variable {name} is set but empty")),
                Some(v) => match v.into_string() {
                    Ok(s) => Ok(Secret::new(s)),
                    Err(mut raw) => {
                        zeroize_os(&mut raw);
                        Err(format!("variable {name} is not UTF-8 text"))
                    }
                },
            }
        })
    }
}

#[cfg(unix)]
fn zeroize_os(raw: &mut std::ffi::OsString) {
    use std::os::unix::ffi::OsStringExt as _;
    let mut bytes = std::mem::take(raw).into_vec();
    zeroize::Zeroize::zeroize(&mut bytes);
}

#[cfg(not(unix))]
fn zeroize_os(raw: &mut std::ffi::OsString) {
    raw.clear();
}
