//! Finding calls for the web UI's calls page (docs/users.md, "Calls"): any mix of dates,
//! project, result, the contact's status and a number, newest first, one keyset page at a
//! time — never an OFFSET, so a page deep in a million calls costs what the first one does.
use super::CallView;

/// Which calls to find.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallSearch {
    pub project_id: Option<i64>,
    pub result: Option<String>,
    /// Only calls of contacts that have this status now.
    pub contact_status: Option<String>,
    /// Only calls to this number (E.164).
    pub number: Option<String>,
    /// Started at or after this (unix s).
    pub from: Option<i64>,
    /// Started before this (unix s).
    pub to: Option<i64>,
    /// Keyset cursor: only calls with a smaller id (the previous page's `next`).
    pub before_id: Option<i64>,
    /// Page size (1..=`MAX_PAGE`).
    pub limit: u32,
}

/// One page of found calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallPage {
    pub calls: Vec<CallView>,
    /// The cursor of the next page (`before_id`), if there may be more.
    pub next: Option<i64>,
    /// The page is short because the search stopped at its window (`SEARCH_WINDOW` calls
    /// looked at), not because there are no more: the next page searches on from `next`.
    pub window_ended: bool,
}

/// How many call ids one page looks through at most when the filter cannot walk an index
/// that holds only matching calls (the contact's status is not a column of `calls`): a page
/// costs at most this, and "next" searches on from where it stopped.
pub const SEARCH_WINDOW: i64 = 100_000;
