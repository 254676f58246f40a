//! Roles and what each may do (docs/users.md, "Roles"): `admin` everything, `manager` runs
//! campaigns, `viewer` reads reports and plays recordings, `agent` the agent desk only.
use serde::{Deserialize, Serialize};
use std::fmt;

/// A user's role (also an API token's: a token acts with its maker's role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The agent desk only.
    Agent,
    /// Reads projects, reports, calls; plays recordings.
    Viewer,
    /// Runs campaigns: scenarios, prompts, projects, imports, agents, the stop list.
    Manager,
    /// Everything, users and settings included.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Viewer, Role::Agent];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Viewer => "viewer",
            Role::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    /// The role's name for people, in Russian (the UI).
    pub fn label_ru(self) -> &'static str {
        match self {
            Role::Admin => "администратор",
            Role::Manager => "менеджер",
            Role::Viewer => "наблюдатель",
            Role::Agent => "оператор",
        }
    }

    /// Reads (projects, reports, calls, recordings): everyone but agents.
    pub fn reads(self) -> bool {
        self >= Role::Viewer
    }

    /// Changes campaigns (scenarios, prompts, projects, contacts, agents, the stop list).
    pub fn runs_campaigns(self) -> bool {
        self >= Role::Manager
    }

    /// Users and server settings.
    pub fn administers(self) -> bool {
        self == Role::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an API route needs, by its method and path (`/api/v1/…`, `/metrics`): users and
/// tokens of others are the admin's; any other change is a manager's; reading is a viewer's.
/// Agents use the agent desk, not the API: only the OpenAPI document is theirs to read.
pub fn api_allows(role: Role, method: &str, path: &str) -> bool {
    let read = matches!(method, "GET" | "HEAD");
    if path.starts_with("/api/v1/users") {
        return role.administers();
    }
    if path == "/api/v1/openapi.json" {
        return true;
    }
    if read {
        role.reads()
    } else {
        role.runs_campaigns()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_reads_and_changes_what_its_page_says() {
        use Role::*;
        let cases = [
            ("GET", "/api/v1/projects", [true, true, true, false]),
            ("POST", "/api/v1/projects", [true, true, false, false]),
            ("PATCH", "/api/v1/projects/1", [true, true, false, false]),
            (
                "GET",
                "/api/v1/calls/1/recording",
                [true, true, true, false],
            ),
            ("GET", "/metrics", [true, true, true, false]),
            ("GET", "/api/v1/users", [true, false, false, false]),
            ("POST", "/api/v1/users", [true, false, false, false]),
            ("GET", "/api/v1/openapi.json", [true, true, true, true]),
        ];
        for (method, path, allowed) in cases {
            for (role, want) in [Admin, Manager, Viewer, Agent].into_iter().zip(allowed) {
                assert_eq!(
                    api_allows(role, method, path),
                    want,
                    "{role} {method} {path}"
                );
            }
        }
        assert_eq!(Role::parse("manager"), Some(Manager));
        assert_eq!(Role::parse("root"), None);
    }
}
