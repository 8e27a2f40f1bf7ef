//! The shell scripts the pipeline runs on hosts, in one place. Each needs only
//! POSIX sh, coreutils and systemd; every path and value is shell-quoted.
//!
//! Release metadata lives in `releases/<v>/.raijin/`: `meta.json` (written
//! last: a release without it is incomplete), `manifest.json`, `chunks` (one
//! hash per line, for pruning), `units/`, `site.caddy`, `env` (0640) and, for
//! a release that failed, `bad`.

use std::fmt::Write as _;

use crate::config::{AppConfig, AppKind};
use crate::remote::Layout;
use crate::remote::as_app::AsApp;
use crate::util::shell_quote as q;

/// Files in `.install/` next to `current`.
pub const PREVIOUS_FILE: &str = "previous";
/// Units raijin installed for the app (one name per line), to find stale ones.
pub const UNITS_FILE: &str = "units";

pub fn meta_dir(layout: &Layout, version: &str) -> String {
    format!("{}/.raijin", layout.release_dir(version))
}

/// One round trip before uploading: the host's CPU (`arch ...`), clear
/// leftovers of an interrupted attempt, say whether the release already
/// exists (and the sha256 of its manifest), and list the chunks (hashes on
/// stdin) the store lacks.
pub fn probe(layout: &Layout, version: &str) -> String {
    let r = q(&layout.release_dir(version));
    format!(
        "set -eu\n\
         umask 022\n\
         I={i}; R={r}\n\
         echo \"arch $(uname -m)\"\n\
         mkdir -p \"$I/store\" \"$I/releases\"\n\
         chmod 0755 \"$I\"\n\
         if [ -d \"$R\" ] && [ ! -f \"$R/.raijin/meta.json\" ]; then rm -rf \"$R\"; fi\n\
         rm -rf \"$R.partial\"\n\
         if [ -f \"$R/.raijin/meta.json\" ]; then echo \"exists $(sha256sum < \"$R/.raijin/manifest.json\" | cut -d' ' -f1)\"; fi\n\
         cd \"$I/store\"\n\
         while read -r h; do [ -f \"$h\" ] || echo \"missing $h\"; done\n",
        i = q(&layout.install_dir()),
    )
}

/// Receives chunks on stdin as `HASH LEN\n` + LEN bytes each, verifies every
/// hash and moves each into the store.
pub fn receive_chunks(layout: &Layout) -> String {
    format!(
        "set -eu\numask 022\ncd {store}\nrm -f .in.*\n\
         while read -r h n; do\n\
         \x20 head -c \"$n\" > \".in.$h\"\n\
         \x20 got=$(sha256sum < \".in.$h\" | cut -d' ' -f1)\n\
         \x20 if [ \"$got\" != \"$h\" ]; then rm -f \".in.$h\"; echo \"chunk $h arrived corrupted (sha256 $got)\" >&2; exit 1; fi\n\
         \x20 mv -f \".in.$h\" \"$h\"\n\
         done\n",
        store = q(&layout.store_dir())
    )
}

/// Where the artifact goes inside the release directory.
pub fn artifact_subdir(kind: AppKind) -> Option<&'static str> {
    match kind {
        AppKind::Binary => None,
        AppKind::Python => Some("wheels"),
        AppKind::Static => Some("site"),
    }
}

/// Prefix for the materialize script: where the store is and where to build.
pub fn materialize_env(layout: &Layout, version: &str, kind: AppKind) -> String {
    let release = layout.release_dir(version);
    match artifact_subdir(kind) {
        None => format!(
            "STORE={}; RELEASE={}; export STORE RELEASE\n",
            q(&layout.store_dir()),
            q(&release)
        ),
        Some(sub) => format!(
            "mkdir -p {rel}\nSTORE={}; RELEASE={}; export STORE RELEASE\n",
            q(&layout.store_dir()),
            q(&format!("{release}/{sub}")),
            rel = q(&release),
        ),
    }
}

/// A here-document writing `contents` to `path` with `mode`.
fn write_file(s: &mut String, path: &str, mode: &str, contents: &str) {
    // A delimiter that cannot occur in the contents.
    let mut tag = String::from("RAIJIN_EOF");
    while contents.contains(&tag) {
        tag.push('_');
    }
    let body = if contents.ends_with('\n') || contents.is_empty() {
        contents.to_string()
    } else {
        format!("{contents}\n")
    };
    let _ = write!(
        s,
        "cat > {p} <<'{tag}'\n{body}{tag}\nchmod {mode} {p}\n",
        p = q(path)
    );
}

/// Everything the release carries besides the artifact. `meta_json` is
/// written last and marks the release complete.
pub struct ReleaseFiles<'a> {
    pub manifest_json: &'a str,
    pub chunks: &'a [String],
    pub units: &'a [(String, String)],
    pub site: Option<&'a str>,
    pub env: &'a str,
    pub meta_json: &'a str,
}

pub fn write_release_files(
    layout: &Layout,
    app: &AppConfig,
    version: &str,
    f: &ReleaseFiles<'_>,
) -> String {
    let m = meta_dir(layout, version);
    let mut s = format!(
        "set -eu\numask 022\nM={}\nrm -rf \"$M\"\nmkdir -p \"$M/units\"\n",
        q(&m)
    );
    write_file(
        &mut s,
        &format!("{m}/manifest.json"),
        "0644",
        f.manifest_json,
    );
    write_file(&mut s, &format!("{m}/chunks"), "0644", &f.chunks.join("\n"));
    for (name, contents) in f.units {
        write_file(&mut s, &format!("{m}/units/{name}"), "0644", contents);
    }
    if let Some(site) = f.site {
        write_file(&mut s, &format!("{m}/site.caddy"), "0644", site);
    }
    // The env file may hold secrets: readable by root and the app only.
    let _ = writeln!(s, "( umask 077; : > \"$M/env\" )");
    write_file(&mut s, &format!("{m}/env"), "0600", f.env);
    let _ = writeln!(
        s,
        "chown root:{user} \"$M/env\" && chmod 0640 \"$M/env\"",
        user = q(&app.user)
    );
    write_file(&mut s, &format!("{m}/meta.json"), "0644", f.meta_json);
    s
}

/// The app user, group and directories (idempotent).
pub fn ensure_app_user(layout: &Layout, app: &AppConfig) -> String {
    let u = q(&app.user);
    format!(
        "set -eu\n\
         getent group raijin >/dev/null || groupadd --system raijin\n\
         if ! id -u {u} >/dev/null 2>&1; then\n\
         \x20 useradd --system --user-group --home-dir {home} --no-create-home --shell /usr/sbin/nologin {u}\n\
         fi\n\
         mkdir -p {home}\n\
         chown {u}:{u} {home}\n\
         chmod {mode} {home}\n\
         chown root:root {install}\n\
         chmod 0755 {install}\n",
        home = q(&layout.app_dir()),
        install = q(&layout.install_dir()),
        // Caddy (its own user) serves a static app's files from the release.
        mode = if app.kind == AppKind::Static {
            "0755"
        } else {
            "0750"
        },
    )
}

/// Install step proper: for python apps, a venv in the release from the
/// shipped wheels, with no package index.
pub fn install_release(layout: &Layout, app: &AppConfig, version: &str) -> Option<String> {
    if app.kind != AppKind::Python {
        return None;
    }
    let r = q(&layout.release_dir(version));
    Some(format!(
        "set -eu\n\
         R={r}\n\
         if [ ! -x \"$R/venv/bin/python\" ]; then\n\
         \x20 rm -rf \"$R/venv\"\n\
         \x20 python3 -m venv \"$R/venv\"\n\
         \x20 \"$R/venv/bin/pip\" install --quiet --no-index --no-cache-dir --disable-pip-version-check --find-links \"$R/wheels\" \"$R\"/wheels/*.whl\n\
         fi\n"
    ))
}

/// Run a hook as the app user with the release's environment, in the release
/// directory, through systemd-run so systemd parses the env file as the units do.
pub fn hook(layout: &Layout, app: &AppConfig, version: &str, command: &str) -> String {
    let run = AsApp::for_release(app, &layout.release_dir(version));
    format!("exec {}\n", run.pipe(None, command))
}

/// Activate `version`: install its units (removing stale ones), its env file,
/// flip `current` atomically, restart. Prints `previous VERSION` (what was
/// current before) on stdout.
pub fn activate(layout: &Layout, app: &AppConfig, version: &str, instances: &[String]) -> String {
    let i = layout.install_dir();
    let m = meta_dir(layout, version);
    let unit_dir = layout.unit_dir();
    let services: Vec<&String> = instances.iter().collect();
    let mut s = format!(
        "set -eu\n\
         I={i}; M={m}; U={ud}\n\
         [ -f \"$M/meta.json\" ] || {{ echo \"release {v} is not complete on this host\" >&2; exit 1; }}\n\
         changed=0\n\
         for f in \"$M\"/units/*; do\n\
         \x20 [ -e \"$f\" ] || continue\n\
         \x20 n=${{f##*/}}\n\
         \x20 if ! cmp -s \"$f\" \"$U/$n\"; then install -m 0644 \"$f\" \"$U/$n\"; changed=1; fi\n\
         done\n\
         if [ -f \"$I/{units}\" ]; then\n\
         \x20 while read -r n; do\n\
         \x20   [ -n \"$n\" ] || continue\n\
         \x20   if [ ! -e \"$M/units/$n\" ]; then\n\
         \x20     systemctl disable --now \"$n\" >/dev/null 2>&1 || true\n\
         \x20     systemctl stop \"${{n%@.service}}@*.service\" >/dev/null 2>&1 || true\n\
         \x20     rm -f \"$U/$n\"; changed=1\n\
         \x20   fi\n\
         \x20 done < \"$I/{units}\"\n\
         fi\n\
         ls -1 \"$M/units\" > \"$I/{units}.new\" && mv -f \"$I/{units}.new\" \"$I/{units}\"\n\
         if [ $changed = 1 ]; then systemctl daemon-reload; fi\n\
         install -m 0640 -o root -g {user} \"$M/env\" \"$I/env.new\" && mv -f \"$I/env.new\" \"$I/env\"\n\
         prev=$(readlink \"$I/current\" 2>/dev/null || true); prev=${{prev##*/}}\n\
         ln -sfn {target} \"$I/current.new\" && mv -Tf \"$I/current.new\" \"$I/current\"\n\
         if [ -n \"$prev\" ] && [ \"$prev\" != {vq} ]; then printf '%s\\n' \"$prev\" > \"$I/{previous}\"; fi\n\
         echo \"previous $prev\"\n",
        i = q(&i),
        m = q(&m),
        ud = q(&unit_dir),
        v = version,
        vq = q(version),
        units = UNITS_FILE,
        previous = PREVIOUS_FILE,
        user = q(&app.user),
        target = q(&format!("releases/{version}")),
    );
    if !services.is_empty() {
        let names: Vec<String> = services.iter().map(|n| q(n)).collect();
        // `enable` reloads systemd (~150 ms): only for units not enabled yet.
        let _ = writeln!(
            s,
            "for u in {}; do systemctl is-enabled --quiet \"$u\" 2>/dev/null || systemctl enable --quiet \"$u\" 2>/dev/null || true; done",
            names.join(" ")
        );
        let _ = writeln!(s, "systemctl restart {}", names.join(" "));
    }
    s
}

/// Install the Caddy site of `version` (if it differs), validate and reload
/// gracefully; a failed reload restores the previous site.
pub fn proxy(layout: &Layout, version: &str) -> String {
    let site = layout.caddy_site_path();
    let m = meta_dir(layout, version);
    format!(
        "set -eu\n\
         S={site}; N={m}/site.caddy\n\
         [ -f \"$N\" ] || exit 0\n\
         cmp -s \"$N\" \"$S\" && exit 0\n\
         mkdir -p \"${{S%/*}}\"\n\
         grep -qs 'import /etc/caddy/raijin/' /etc/caddy/Caddyfile || {{ echo 'Caddy is not set up for raijin: run raijin host bootstrap' >&2; exit 1; }}\n\
         had=0; if [ -f \"$S\" ]; then cp -p \"$S\" \"$S.bak\"; had=1; fi\n\
         install -m 0644 \"$N\" \"$S\"\n\
         if out=$(caddy validate --config /etc/caddy/Caddyfile --adapter caddyfile 2>&1) && systemctl reload caddy; then\n\
         \x20 rm -f \"$S.bak\"; exit 0\n\
         fi\n\
         if [ $had = 1 ]; then mv -f \"$S.bak\" \"$S\"; else rm -f \"$S\"; fi\n\
         systemctl reload caddy || true\n\
         printf 'Caddy rejected the new site; the previous one is back:\\n%s\\n' \"$out\" >&2\n\
         exit 1\n",
        site = q(&site),
        m = q(&m),
    )
}

/// `systemctl is-active` of the units, one state per line.
pub fn is_active(units: &[String]) -> String {
    let names: Vec<String> = units.iter().map(|u| q(u)).collect();
    format!("systemctl is-active {} || true\n", names.join(" "))
}

/// The last lines of a unit's journal.
pub fn journal_tail(unit: &str, lines: u32) -> String {
    format!(
        "journalctl -u {} -n {lines} --no-pager -o short-iso 2>&1 || true\n",
        q(unit)
    )
}

/// Mark a release bad, with the reason.
pub fn mark_bad(layout: &Layout, version: &str, reason: &str) -> String {
    format!(
        "printf '%s\\n' {} > {}/bad\n",
        q(reason),
        q(&meta_dir(layout, version))
    )
}

/// Append one JSON line to the host's audit log.
pub fn audit(layout: &Layout, line: &str) -> String {
    format!(
        "mkdir -p {i} && printf '%s\\n' {l} >> {log} && chmod 0644 {log}\n",
        i = q(&layout.install_dir()),
        l = q(line),
        log = q(&layout.audit_log())
    )
}

/// Keep the newest `keep` complete releases plus the current and previous
/// ones; drop chunks no kept release references. Prints what it removed.
pub fn prune(layout: &Layout, keep: usize) -> String {
    format!(
        "set -eu\n\
         I={i}\n\
         cd \"$I/releases\" 2>/dev/null || exit 0\n\
         cur=$(readlink \"$I/current\" 2>/dev/null || true); cur=${{cur##*/}}\n\
         prev=$(cat \"$I/{previous}\" 2>/dev/null || true)\n\
         n=0\n\
         for m in $(ls -1t */.raijin/meta.json 2>/dev/null); do\n\
         \x20 v=${{m%%/*}}; n=$((n + 1))\n\
         \x20 if [ $n -gt {keep} ] && [ \"$v\" != \"$cur\" ] && [ \"$v\" != \"$prev\" ]; then rm -rf \"$v\"; echo \"release $v\"; fi\n\
         done\n\
         cat */.raijin/chunks 2>/dev/null | sort -u > \"$I/.keep\"\n\
         ls -1 \"$I/store\" | sort | comm -23 - \"$I/.keep\" | while read -r h; do rm -f \"$I/store/$h\"; echo \"chunk $h\"; done\n\
         rm -f \"$I/.keep\"\n",
        i = q(&layout.install_dir()),
        previous = PREVIOUS_FILE,
    )
}

/// Lock: an atomic mkdir; prints `locked` or `held <info>`.
pub fn lock(layout: &Layout, info_json: &str, force: bool) -> String {
    let l = q(&layout.lock_dir());
    let mut s = format!("set -eu\nmkdir -p {}\n", q(&layout.install_dir()));
    if force {
        let _ = writeln!(s, "rm -rf {l}");
    }
    let _ = writeln!(
        s,
        "if mkdir {l} 2>/dev/null; then printf '%s\\n' {info} > {l}/info; echo locked; else echo \"held $(cat {l}/info 2>/dev/null)\"; fi",
        info = q(info_json)
    );
    s
}

pub fn unlock(layout: &Layout) -> String {
    format!("rm -rf {}\n", q(&layout.lock_dir()))
}

/// Per release: `version<TAB>bad(0|1)<TAB>meta.json`, then `current<TAB>v`
/// and `previous<TAB>v`.
pub fn history(layout: &Layout) -> String {
    format!(
        "I={i}\n\
         for d in \"$I\"/releases/*/; do\n\
         \x20 [ -f \"$d.raijin/meta.json\" ] || continue\n\
         \x20 v=${{d%/}}; v=${{v##*/}}\n\
         \x20 b=0; [ -e \"$d.raijin/bad\" ] && b=1\n\
         \x20 printf '%s\\t%s\\t%s\\n' \"$v\" \"$b\" \"$(cat \"$d.raijin/meta.json\")\"\n\
         done\n\
         cur=$(readlink \"$I/current\" 2>/dev/null || true)\n\
         printf 'current\\t%s\\n' \"${{cur##*/}}\"\n\
         printf 'previous\\t%s\\n' \"$(cat \"$I/{previous}\" 2>/dev/null || true)\"\n",
        i = q(&layout.install_dir()),
        previous = PREVIOUS_FILE,
    )
}

/// Unit states and drift for the current release: lines
/// `unit<TAB>name<TAB>ActiveState<TAB>SubState<TAB>since`, `drift<TAB>what`,
/// and `current<TAB>version`.
pub fn status(layout: &Layout) -> String {
    format!(
        "I={i}; U={u}; S={site}\n\
         cur=$(readlink \"$I/current\" 2>/dev/null || true)\n\
         printf 'current\\t%s\\n' \"${{cur##*/}}\"\n\
         [ -n \"$cur\" ] || exit 0\n\
         M=\"$I/current/.raijin\"\n\
         for f in \"$M\"/units/*; do\n\
         \x20 [ -e \"$f\" ] || continue\n\
         \x20 n=${{f##*/}}\n\
         \x20 cmp -s \"$f\" \"$U/$n\" || printf 'drift\\tunit %s differs from the release\\n' \"$n\"\n\
         done\n\
         if [ -f \"$M/site.caddy\" ]; then cmp -s \"$M/site.caddy\" \"$S\" || printf 'drift\\tCaddy site %s differs from the release\\n' \"$S\"; fi\n\
         show() {{ printf 'unit\\t%s\\t%s\\t%s\\t%s\\n' \"$1\" \"$(systemctl show -p ActiveState --value \"$1\")\" \"$(systemctl show -p SubState --value \"$1\")\" \"$(systemctl show -p StateChangeTimestamp --value \"$1\")\"; }}\n\
         while read -r n; do\n\
         \x20 case \"$n\" in\n\
         \x20   *@.service) for m in $(systemctl list-units --all --plain --no-legend --no-pager \"${{n%@.service}}@*.service\" | awk '{{print $1}}'); do show \"$m\"; done ;;\n\
         \x20   ?*) show \"$n\" ;;\n\
         \x20 esac\n\
         done < \"$I/{units}\"\n",
        i = q(&layout.install_dir()),
        u = q(&layout.unit_dir()),
        site = q(&layout.caddy_site_path()),
        units = UNITS_FILE,
    )
}

/// Prepare a host for raijin: check systemd and Caddy, the `raijin` group,
/// /opt/raijin (root:raijin 2775), the deploy user in the group with the
/// sudo rule raijin needs, Caddy importing raijin's sites; record facts.
pub fn bootstrap(deploy_user: &str) -> String {
    format!(
        "set -eu\n\
         fail() {{ echo \"$*\" >&2; exit 1; }}\n\
         command -v systemctl >/dev/null || fail 'systemd is required (systemctl not found)'\n\
         command -v caddy >/dev/null || fail 'Caddy is not installed on this host: install it (apt-get install caddy) and run bootstrap again'\n\
         systemctl is-active --quiet caddy || fail 'Caddy is installed but not running: systemctl enable --now caddy, then run bootstrap again'\n\
         getent group raijin >/dev/null || groupadd --system raijin\n\
         mkdir -p /opt/raijin\n\
         chown root:raijin /opt/raijin\n\
         chmod 2775 /opt/raijin\n\
         U={u}\n\
         if [ \"$U\" != root ]; then\n\
         \x20 usermod -aG raijin \"$U\"\n\
         \x20 # raijin runs its (small, logged) install scripts through `sudo -n sh`.\n\
         \x20 printf '%s ALL=(root) NOPASSWD: /bin/sh, /usr/bin/sh\\n' \"$U\" > /etc/sudoers.d/raijin.new\n\
         \x20 chmod 0440 /etc/sudoers.d/raijin.new\n\
         \x20 if command -v visudo >/dev/null; then visudo -cqf /etc/sudoers.d/raijin.new || fail 'the sudoers rule did not validate'; fi\n\
         \x20 mv -f /etc/sudoers.d/raijin.new /etc/sudoers.d/raijin\n\
         fi\n\
         mkdir -p {sites}\n\
         C={main}\n\
         if ! grep -qsF {import} \"$C\"; then\n\
         \x20 cp -p \"$C\" \"$C.raijin-bak\" 2>/dev/null || true\n\
         \x20 printf '\\n%s\\n' {import} >> \"$C\"\n\
         \x20 if ! caddy validate --config \"$C\" --adapter caddyfile >/dev/null 2>&1; then\n\
         \x20   [ -f \"$C.raijin-bak\" ] && mv -f \"$C.raijin-bak\" \"$C\"\n\
         \x20   fail \"Caddy rejected $C with the raijin import line; it was restored\"\n\
         \x20 fi\n\
         \x20 systemctl reload caddy\n\
         fi\n\
         . /etc/os-release 2>/dev/null || true\n\
         printf '{{\"arch\":\"%s\",\"os\":\"%s\",\"systemd\":\"%s\",\"caddy\":\"%s\",\"bootstrapped_at\":\"%s\"}}\\n' \
         \"$(uname -m)\" \"${{PRETTY_NAME:-unknown}}\" \"$(systemctl --version | head -n1 | cut -d' ' -f2)\" \"$(caddy version | cut -d' ' -f1)\" \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\" > /opt/raijin/.host.json\n\
         cat /opt/raijin/.host.json\n",
        u = q(deploy_user),
        sites = q(crate::remote::layout::CADDY_SITES_DIR),
        main = q(crate::remote::layout::CADDY_MAIN_CONFIG),
        import = q(&crate::remote::caddy::caddy_main_config_snippet()),
    )
}
