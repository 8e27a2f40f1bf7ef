//! The syntax of secret references in `[apps.NAME.env]` values: `keyring:SERVICE/NAME`,
//! `op://VAULT/ITEM/FIELD`, `bw:ITEM[/FIELD]`, `doppler:NAME`, `env:NAME`, `cmd:COMMAND`.
//! Any other value is plain text and passes through unchanged. References are resolved at
//! deploy time by the secrets module; here they are only recognized and checked.

use std::fmt;

/// A parsed secret reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// `keyring:SERVICE/NAME`: an entry of the OS keyring.
    Keyring { service: String, name: String },
    /// `op://VAULT/ITEM/[SECTION/]FIELD`: a 1Password secret reference, kept whole since
    /// `op read` takes it as is.
    OnePassword { reference: String },
    /// `bw:ITEM[/FIELD]`: a Bitwarden item (its password when no field is given).
    Bitwarden { item: String, field: Option<String> },
    /// `doppler:NAME`: a Doppler secret.
    Doppler { name: String },
    /// `env:NAME`: an environment variable of the deploying process.
    Env { name: String },
    /// `cmd:COMMAND`: the trimmed standard output of a local command (run by `sh -c`).
    Cmd { command: String },
}

/// Why a value that starts like a reference is not a valid one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRefError {
    pub message: String,
    /// The expected shape, e.g. `keyring:SERVICE/NAME`.
    pub expected: &'static str,
}

impl fmt::Display for SecretRefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (expected `{}`)", self.message, self.expected)
    }
}

impl std::error::Error for SecretRefError {}

impl SecretRef {
    /// `Ok(None)` for a plain value, `Ok(Some(..))` for a well-formed reference, `Err` for
    /// a value that starts with a reference prefix but is malformed.
    pub fn parse(value: &str) -> Result<Option<SecretRef>, SecretRefError> {
        let bad = |message: &str, expected| {
            Err(SecretRefError {
                message: message.to_string(),
                expected,
            })
        };
        if let Some(rest) = value.strip_prefix("keyring:") {
            const SHAPE: &str = "keyring:SERVICE/NAME";
            return match rest.split_once('/') {
                Some((service, name)) if !service.is_empty() && !name.is_empty() => {
                    Ok(Some(SecretRef::Keyring {
                        service: service.to_string(),
                        name: name.to_string(),
                    }))
                }
                _ => bad("a keyring reference needs a service and a name", SHAPE),
            };
        }
        if let Some(rest) = value.strip_prefix("op://") {
            const SHAPE: &str = "op://VAULT/ITEM/FIELD";
            let parts: Vec<_> = rest.split('/').collect();
            return if (3..=4).contains(&parts.len()) && parts.iter().all(|p| !p.is_empty()) {
                Ok(Some(SecretRef::OnePassword {
                    reference: value.to_string(),
                }))
            } else {
                bad(
                    "a 1Password reference needs a vault, an item and a field",
                    SHAPE,
                )
            };
        }
        if let Some(rest) = value.strip_prefix("bw:") {
            const SHAPE: &str = "bw:ITEM[/FIELD]";
            let (item, field) = match rest.split_once('/') {
                Some((item, field)) => (item, Some(field)),
                None => (rest, None),
            };
            return if item.is_empty() || field.is_some_and(str::is_empty) {
                bad("a Bitwarden reference needs an item", SHAPE)
            } else {
                Ok(Some(SecretRef::Bitwarden {
                    item: item.to_string(),
                    field: field.map(str::to_string),
                }))
            };
        }
        if let Some(name) = value.strip_prefix("doppler:") {
            const SHAPE: &str = "doppler:NAME";
            return if name.is_empty() || name.contains(char::is_whitespace) {
                bad("a Doppler reference needs a secret name", SHAPE)
            } else {
                Ok(Some(SecretRef::Doppler {
                    name: name.to_string(),
                }))
            };
        }
        if let Some(name) = value.strip_prefix("env:") {
            const SHAPE: &str = "env:NAME";
            return if is_env_name(name) {
                Ok(Some(SecretRef::Env {
                    name: name.to_string(),
                }))
            } else {
                bad(
                    "an env reference needs a variable name (letters, digits and `_`)",
                    SHAPE,
                )
            };
        }
        if let Some(command) = value.strip_prefix("cmd:") {
            const SHAPE: &str = "cmd:COMMAND";
            return if command.trim().is_empty() {
                bad("a cmd reference needs a command", SHAPE)
            } else {
                Ok(Some(SecretRef::Cmd {
                    command: command.to_string(),
                }))
            };
        }
        Ok(None)
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`: a name that can be an environment variable.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_pass_through() {
        for plain in [
            "",
            "production",
            "postgres://db/x",
            "https://x",
            "keyring",
            "op:/x",
        ] {
            assert_eq!(SecretRef::parse(plain), Ok(None), "{plain}");
        }
    }

    #[test]
    fn references_parse() {
        assert_eq!(
            SecretRef::parse("keyring:hello/DATABASE_PASSWORD"),
            Ok(Some(SecretRef::Keyring {
                service: "hello".into(),
                name: "DATABASE_PASSWORD".into()
            }))
        );
        assert_eq!(
            SecretRef::parse("op://Ops/hello-db/password"),
            Ok(Some(SecretRef::OnePassword {
                reference: "op://Ops/hello-db/password".into()
            }))
        );
        assert!(matches!(
            SecretRef::parse("op://Ops/hello-db/section/password"),
            Ok(Some(_))
        ));
        assert_eq!(
            SecretRef::parse("bw:hello-smtp/username"),
            Ok(Some(SecretRef::Bitwarden {
                item: "hello-smtp".into(),
                field: Some("username".into())
            }))
        );
        assert_eq!(
            SecretRef::parse("bw:hello-smtp"),
            Ok(Some(SecretRef::Bitwarden {
                item: "hello-smtp".into(),
                field: None
            }))
        );
        assert_eq!(
            SecretRef::parse("doppler:STRIPE_KEY"),
            Ok(Some(SecretRef::Doppler {
                name: "STRIPE_KEY".into()
            }))
        );
        assert_eq!(
            SecretRef::parse("env:API_TOKEN"),
            Ok(Some(SecretRef::Env {
                name: "API_TOKEN".into()
            }))
        );
        assert_eq!(
            SecretRef::parse("cmd:pass show hello/db"),
            Ok(Some(SecretRef::Cmd {
                command: "pass show hello/db".into()
            }))
        );
    }

    #[test]
    fn malformed_references_are_errors() {
        for bad in [
            "keyring:hello",
            "keyring:/x",
            "keyring:x/",
            "op://vault/item",
            "op://vault//field",
            "op://a/b/c/d/e",
            "bw:",
            "bw:item/",
            "doppler:",
            "env:",
            "env:1X",
            "env:API-TOKEN",
            "cmd:  ",
        ] {
            assert!(SecretRef::parse(bad).is_err(), "{bad}");
        }
        let err = SecretRef::parse("keyring:hello").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a keyring reference needs a service and a name (expected `keyring:SERVICE/NAME`)"
        );
    }

    #[test]
    fn env_names() {
        assert!(is_env_name("API_TOKEN"));
        assert!(is_env_name("_x1"));
        assert!(!is_env_name(""));
        assert!(!is_env_name("1X"));
        assert!(!is_env_name("A-B"));
        assert!(!is_env_name("A B"));
    }
}
