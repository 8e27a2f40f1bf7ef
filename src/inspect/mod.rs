//! Reading what is on the hosts, for the faces and for rollback: each host's link,
//! RTT and facts ([`hosts`]), an app's kept releases ([`history`]) and the units of
//! its current release with any drift ([`status`]), those units' details
//! ([`units`]), the files a release installs ([`show`]) and the hosts' audit logs
//! merged ([`audit`]). One function per question, each
//! fanning out over the hosts in parallel; nothing here changes a host.

pub mod audit;
pub mod history;
pub mod hosts;
pub mod show;
pub mod status;
pub mod units;

pub use audit::{AuditEntry, AuditLog, audit};
pub use history::{HostHistory, Release, history, host_history, parse_history};
pub use hosts::{HostFacts, HostReport, hosts};
pub use show::{ShowError, ShowPart, Shown, show};
pub use status::{AppStatus, HostStatus, UnitState, host_status, parse_status, status};
pub use units::{HostUnits, UnitDetail, units};
