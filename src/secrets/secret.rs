//! `Secret`: a resolved value that never prints itself. Debug and Display show a
//! placeholder; the value is read only through [`Secret::expose`], and its memory is
//! zeroed when it is dropped.

use std::fmt;

use zeroize::Zeroizing;

/// A secret value held in memory only.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(Zeroizing::new(value))
    }

    /// The value itself. Call this only where the value must go: a host's env file,
    /// the standard output of `raijin secrets get`, a child's environment.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes (shown by `raijin secrets check` instead of the value).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Take a command's output as a secret without copying it, dropping one trailing
    /// newline (`\n` or `\r\n`). Output that is not UTF-8 is zeroed and refused.
    pub(crate) fn from_output(mut bytes: Vec<u8>) -> Result<Secret, NotUtf8> {
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        match String::from_utf8(bytes) {
            Ok(s) => Ok(Secret::new(s)),
            Err(e) => {
                let mut bytes = e.into_bytes();
                zeroize::Zeroize::zeroize(&mut bytes);
                Err(NotUtf8)
            }
        }
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A secret's bytes were not UTF-8 (env files hold text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotUtf8;

impl fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the value is not valid UTF-8 text")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(
            format!("{:?}", vec![("K", s.clone())]),
            "[(\"K\", Secret(<redacted>))]"
        );
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(s.len(), 7);
    }

    #[test]
    fn output_loses_one_trailing_newline() {
        let v = |b: &[u8]| Secret::from_output(b.to_vec()).map(|s| s.expose().to_string());
        assert_eq!(v(b"abc\n"), Ok("abc".into()));
        assert_eq!(v(b"abc\r\n"), Ok("abc".into()));
        assert_eq!(v(b"abc\n\n"), Ok("abc\n".into()));
        assert_eq!(v(b"abc"), Ok("abc".into()));
        assert_eq!(v(b" abc \n"), Ok(" abc ".into()));
        assert_eq!(v(b"\xff\n"), Err(NotUtf8));
    }
}
