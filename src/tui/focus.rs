//! Where the keys go: the focused panel, the tab the main panel shows, and how a
//! selection moves.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Apps,
    Hosts,
    Main,
}

impl Focus {
    /// The next panel (`forward`) or the previous one, wrapping.
    pub fn cycle(self, forward: bool) -> Focus {
        let order = [Focus::Apps, Focus::Hosts, Focus::Main];
        let i = order.iter().position(|f| *f == self).unwrap_or(0);
        let n = if forward { i + 1 } else { i + 2 };
        order[n % 3]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Deploy,
    Logs,
    History,
    Status,
    Audit,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::Deploy,
        Tab::Logs,
        Tab::History,
        Tab::Status,
        Tab::Audit,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Deploy => "Deploy",
            Tab::Logs => "Logs",
            Tab::History => "History",
            Tab::Status => "Status",
            Tab::Audit => "Audit",
        }
    }

    /// The next tab (`forward`) or the previous one, wrapping.
    pub fn cycle(self, forward: bool) -> Tab {
        let i = Tab::ALL.iter().position(|t| *t == self).unwrap_or(0);
        let n = if forward {
            i + 1
        } else {
            i + Tab::ALL.len() - 1
        };
        Tab::ALL[n % Tab::ALL.len()]
    }
}

/// `v` moved by `delta` within `0..len` (0 when the list is empty).
pub fn step(v: usize, delta: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (v as isize)
        .saturating_add(delta)
        .clamp(0, len as isize - 1) as usize
}
