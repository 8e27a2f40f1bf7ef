//! The remote side of an app: where it lives on a host (`layout`), the hardened
//! systemd units that run its processes (`units`), the Caddy site in front of it
//! (`caddy`) and every shell script and command line raijin runs on a host
//! (`scripts`, including how a command runs as the app's user). Pure rendering:
//! nothing here talks to a host; `engine::host` runs what this renders.

pub mod caddy;
pub mod layout;
pub mod scripts;
pub mod slots;
pub mod units;

pub use caddy::{caddy_main_config_snippet, render_site};
pub use layout::{Layout, validate_version};
pub use units::{UnitFile, render_units, unit_instances};
