//! Catch a binary built for the wrong CPU before it is uploaded: read the ELF
//! header's machine field and compare it with the host's `uname -m`.

use std::fmt;
use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Bytes of an ELF header needed to read `e_machine`.
const HEADER_LEN: usize = 20;

/// The `uname -m` name of the CPU an ELF file is built for, from its first
/// bytes (at least 20). `None` for anything that is not ELF, or an ELF
/// machine this table does not know.
pub fn elf_machine(header: &[u8]) -> Option<&'static str> {
    if header.len() < HEADER_LEN || header[..4] != *b"\x7fELF" {
        return None;
    }
    let is64 = match header[4] {
        1 => false,
        2 => true,
        _ => return None,
    };
    let little = match header[5] {
        1 => true,
        2 => false,
        _ => return None,
    };
    let raw = [header[18], header[19]];
    let machine = if little {
        u16::from_le_bytes(raw)
    } else {
        u16::from_be_bytes(raw)
    };
    Some(match (machine, is64, little) {
        (3, _, _) => "i686",
        (62, _, _) => "x86_64",
        (40, _, true) => "armv7l",
        (183, _, true) => "aarch64",
        (183, _, false) => "aarch64_be",
        (243, true, _) => "riscv64",
        (243, false, _) => "riscv32",
        (20, _, _) => "ppc",
        (21, _, true) => "ppc64le",
        (21, _, false) => "ppc64",
        (22, true, _) => "s390x",
        (22, false, _) => "s390",
        (258, true, _) => "loongarch64",
        _ => return None,
    })
}

/// A binary artifact that the host's CPU cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchMismatch {
    /// The app being deployed, when known (see [`ArchMismatch::for_app`]).
    pub app: Option<String>,
    /// The host's name, when known.
    pub host: Option<String>,
    pub artifact: PathBuf,
    /// What the binary is built for, as a `uname -m` name.
    pub built_for: &'static str,
    /// What the host reported (`uname -m`), as reported.
    pub host_arch: String,
}

impl ArchMismatch {
    /// Name the app and host in the message.
    pub fn for_app(mut self, app: &str, host: &str) -> Self {
        self.app = Some(app.to_string());
        self.host = Some(host.to_string());
        self
    }
}

impl fmt::Display for ArchMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(app) = &self.app {
            write!(f, "{app}: ")?;
        }
        write!(
            f,
            "artifact {} is built for {} but ",
            self.artifact.display(),
            self.built_for
        )?;
        match &self.host {
            Some(host) => write!(f, "host {host}")?,
            None => write!(f, "the host")?,
        }
        let wanted = family(&self.host_arch);
        write!(f, " runs {}; build for {wanted}", self.host_arch)?;
        if let Some(target) = rust_target(&wanted) {
            write!(f, " (e.g. cargo build --target {target})")?;
        }
        write!(f, " or pick hosts of the same architecture")
    }
}

impl std::error::Error for ArchMismatch {}

/// Check that a host reporting `host_uname_m` can run `file`. Files that
/// are not ELF (scripts, archives), ELF machines this module does not know
/// and an empty host answer pass; so does a file that cannot be read, since
/// bundling it fails with its own error naming it. Name variants are
/// matched (`arm64` = `aarch64`, `amd64` = `x86_64`, `armv8l`/`armv6l` run
/// 32-bit ARM binaries), but a 32-bit binary is refused on a 64-bit host.
pub fn check_arch(file: &Path, host_uname_m: &str) -> Result<(), ArchMismatch> {
    let mut header = Vec::with_capacity(HEADER_LEN);
    let read = File::open(file).and_then(|f| f.take(HEADER_LEN as u64).read_to_end(&mut header));
    if read.is_err() {
        return Ok(());
    }
    let Some(built_for) = elf_machine(&header) else {
        return Ok(());
    };
    let host = host_uname_m.trim();
    if host.is_empty() || family(built_for) == family(host) {
        return Ok(());
    }
    Err(ArchMismatch {
        app: None,
        host: None,
        artifact: file.to_path_buf(),
        built_for,
        host_arch: host.to_string(),
    })
}

/// One name per instruction set, so `uname -m` variants compare equal.
fn family(uname_m: &str) -> String {
    let m = uname_m.trim().to_ascii_lowercase();
    let fam = match m.as_str() {
        "x86_64" | "amd64" | "x64" => "x86_64",
        "i386" | "i486" | "i586" | "i686" | "x86" => "i686",
        "aarch64" | "arm64" => "aarch64",
        "arm" | "armhf" | "armel" => "armv7l",
        s if s.starts_with("armv") && !s.ends_with('b') => "armv7l",
        "powerpc64le" | "ppc64el" => "ppc64le",
        "powerpc64" => "ppc64",
        "powerpc" => "ppc",
        _ => return m,
    };
    fam.to_string()
}

/// The usual Rust target for a Linux host of this family.
fn rust_target(family: &str) -> Option<&'static str> {
    Some(match family {
        "x86_64" => "x86_64-unknown-linux-gnu",
        "i686" => "i686-unknown-linux-gnu",
        "aarch64" => "aarch64-unknown-linux-gnu",
        "armv7l" => "armv7-unknown-linux-gnueabihf",
        "riscv64" => "riscv64gc-unknown-linux-gnu",
        "ppc64le" => "powerpc64le-unknown-linux-gnu",
        "ppc64" => "powerpc64-unknown-linux-gnu",
        "s390x" => "s390x-unknown-linux-gnu",
        "loongarch64" => "loongarch64-unknown-linux-gnu",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF identification + header prefix up to `e_machine`.
    fn header(is64: bool, little: bool, machine: u16) -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = if is64 { 2 } else { 1 };
        h[5] = if little { 1 } else { 2 };
        h[6] = 1; // EI_VERSION
        let (etype, mach) = if little {
            (2u16.to_le_bytes(), machine.to_le_bytes())
        } else {
            (2u16.to_be_bytes(), machine.to_be_bytes())
        };
        h[16..18].copy_from_slice(&etype);
        h[18..20].copy_from_slice(&mach);
        h
    }

    #[test]
    fn synthetic_headers() {
        let cases = [
            (true, true, 62, Some("x86_64")),
            (false, true, 3, Some("i686")),
            (true, true, 183, Some("aarch64")),
            (false, true, 40, Some("armv7l")),
            (true, true, 243, Some("riscv64")),
            (true, true, 21, Some("ppc64le")),
            (true, false, 21, Some("ppc64")),
            (true, false, 22, Some("s390x")),
            (false, false, 40, None),
            (true, true, 0xbeef, None),
        ];
        for (is64, little, machine, want) in cases {
            assert_eq!(
                elf_machine(&header(is64, little, machine)),
                want,
                "is64={is64} little={little} machine={machine}"
            );
        }
        // Big-endian field order matters: 62 read little-endian is not x86_64.
        let mut swapped = header(true, true, 62);
        swapped[5] = 2;
        assert_eq!(elf_machine(&swapped), None);
        assert_eq!(elf_machine(b"#!/bin/sh\necho hi\n"), None);
        assert_eq!(elf_machine(&header(true, true, 62)[..19]), None);
    }

    #[test]
    fn name_variants() {
        assert_eq!(family("arm64"), "aarch64");
        assert_eq!(family("AMD64"), "x86_64");
        assert_eq!(family("armv8l"), "armv7l");
        assert_eq!(family("armv6l"), "armv7l");
        assert_eq!(family("i586"), "i686");
        assert_eq!(family("riscv64\n"), "riscv64");
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn check_against_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let arm = write(dir.path(), "arm", &header(true, true, 183));
        let armhf = write(dir.path(), "armhf", &header(false, true, 40));
        let x86 = write(dir.path(), "x86", &header(true, true, 62));
        let i686 = write(dir.path(), "i686", &header(false, true, 3));
        let script = write(dir.path(), "run.sh", b"#!/bin/sh\nexec true\n");

        assert!(check_arch(&arm, "aarch64").is_ok());
        assert!(check_arch(&arm, "arm64").is_ok());
        assert!(check_arch(&armhf, "armv7l").is_ok());
        assert!(check_arch(&armhf, "armv8l").is_ok());
        assert!(check_arch(&x86, "x86_64\n").is_ok());
        assert!(check_arch(&script, "aarch64").is_ok());
        assert!(check_arch(&dir.path().join("absent"), "aarch64").is_ok());
        assert!(check_arch(&x86, "").is_ok());

        assert!(check_arch(&arm, "armv7l").is_err());
        assert!(check_arch(&armhf, "aarch64").is_err());
        assert!(check_arch(&i686, "x86_64").is_err());
        assert!(check_arch(&x86, "riscv64").is_err());
    }

    #[test]
    fn mismatch_message() {
        let dir = tempfile::tempdir().unwrap();
        let bin = write(dir.path(), "hello", &header(true, true, 62));
        let err = check_arch(&bin, "aarch64").unwrap_err();
        assert_eq!(err.built_for, "x86_64");
        let err = ArchMismatch {
            artifact: PathBuf::from("target/release/hello"),
            ..err
        }
        .for_app("hello", "h2");
        assert_eq!(
            err.to_string(),
            "hello: artifact target/release/hello is built for x86_64 but host h2 runs aarch64; \
             build for aarch64 (e.g. cargo build --target aarch64-unknown-linux-gnu) \
             or pick hosts of the same architecture"
        );
        let bare = check_arch(&bin, "arm64").unwrap_err().to_string();
        assert!(bare.starts_with("artifact "), "{bare}");
        assert!(
            bare.contains("the host runs arm64; build for aarch64"),
            "{bare}"
        );
        let odd = check_arch(&bin, "sparc64").unwrap_err().to_string();
        assert!(
            odd.ends_with("runs sparc64; build for sparc64 or pick hosts of the same architecture"),
            "{odd}"
        );
    }

    #[test]
    fn real_binary_of_this_machine() {
        let t = Path::new("/bin/true");
        let mut header = Vec::new();
        File::open(t)
            .unwrap()
            .take(64)
            .read_to_end(&mut header)
            .unwrap();
        let here = std::env::consts::ARCH; // "x86_64", "aarch64", ...
        assert_eq!(family(elf_machine(&header).unwrap()), family(here));
        assert!(check_arch(t, here).is_ok());
        let other = if here == "x86_64" {
            "aarch64"
        } else {
            "x86_64"
        };
        let err = check_arch(t, other).unwrap_err();
        assert!(err.to_string().contains("/bin/true is built for"), "{err}");
    }
}
