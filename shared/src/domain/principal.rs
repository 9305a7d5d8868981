use super::{Email, TenantId, UserId};

/// A role from the caller's token. Unknown roles are kept out: they grant nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    TenantAdministrator,
    TenantMember,
    PortalAdministrator,
}

impl Role {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "TenantAdministrator" => Some(Self::TenantAdministrator),
            "TenantMember" => Some(Self::TenantMember),
            "PortalAdministrator" => Some(Self::PortalAdministrator),
            _ => None,
        }
    }
}

/// The signed-in caller, as the identity provider vouched for them.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: UserId,
    pub tenant: TenantId,
    /// Present only when the identity provider says the address is verified.
    pub email: Option<Email>,
    pub tenant_name: Option<String>,
    pub roles: Vec<Role>,
}

impl Principal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_tenant_admin(&self) -> bool {
        self.has(Role::TenantAdministrator)
    }

    /// Administrators are members of their tenant too.
    pub fn is_tenant_member(&self) -> bool {
        self.has(Role::TenantMember) || self.is_tenant_admin()
    }
}
