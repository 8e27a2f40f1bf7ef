//! The two system calls the secrets module needs that no dependency wraps: joining a
//! fresh kernel session keyring (keyutils) and killing a timed-out command's process
//! group. Each is one `unsafe` call with its contract stated.

/// Kill a process group (the group a secret command was started in) with SIGKILL.
/// Errors are ignored: the group may already be gone.
#[cfg(unix)]
pub(crate) fn kill_process_group(pid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pgid <= 1 {
        return;
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; a negative
    // pid addresses the process group whose id is `pgid` (the child was started with
    // `process_group(0)`, so its group id is its pid).
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

#[cfg(not(unix))]
pub(crate) fn kill_process_group(_pid: u32) {}

/// `keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)`: give this process a new anonymous
/// session keyring, so keyutils entries can be added even when the inherited session
/// keyring is missing or not writable. Returns the keyring serial.
#[cfg(target_os = "linux")]
pub(crate) fn join_session_keyring() -> std::io::Result<i64> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: keyctl(2) with JOIN_SESSION_KEYRING reads its second argument as an
    // optional C string; a null pointer asks for an anonymous keyring. Nothing else is
    // read or written.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    if ret < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}
