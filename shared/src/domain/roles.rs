//! The roles an invitation grants (`Roles`): names the product gives meaning to, handed back on reads, in events
//! and on acceptance (Auth0's roles on an invitation, WorkOS's `role_slug`). rsvp checks their form, and for a
//! platform invitation who may grant them: a role the tenant lets invitations grant ([`super::UserSettings`]'s
//! `invitable_roles`), and, for a caller who is not a TenantAdministrator, only a role the caller holds.

use super::{Principal, Role};

/// The most roles one invitation grants.
pub const MAX_ROLES: usize = 10;
/// The longest role name.
pub const MAX_ROLE_CHARS: usize = 64;

/// Why requested roles were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolesError {
    #[error("Roles lists {0} roles; at most {MAX_ROLES}.")]
    TooMany(usize),
    #[error("Roles has {0:?}, which is not a role name: 1 to {MAX_ROLE_CHARS} letters, digits, '_', '-', '.' or ':'.")]
    BadName(String),
    #[error("Roles has {0}, which the tenant does not let invitations grant (its InvitableRoles setting).")]
    NotInvitable(String),
    #[error("Roles has {0}, which you do not hold: only a TenantAdministrator grants a role they do not have.")]
    NotHeld(String),
}

/// Role names as given, each once, in order.
pub fn parse_roles(names: &[String]) -> Result<Vec<String>, RolesError> {
    if names.len() > MAX_ROLES {
        return Err(RolesError::TooMany(names.len()));
    }
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let ok = (1..=MAX_ROLE_CHARS).contains(&name.chars().count())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
        if !ok {
            return Err(RolesError::BadName(name.chars().take(MAX_ROLE_CHARS + 1).collect()));
        }
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    Ok(out)
}

/// Whether `caller` may grant `roles` on a platform invitation of a tenant that lets invitations grant `invitable`.
pub fn may_grant(roles: &[String], invitable: &[String], caller: &Principal) -> Result<(), RolesError> {
    for role in roles {
        if !invitable.contains(role) {
            return Err(RolesError::NotInvitable(role.clone()));
        }
        let held = Role::parse(role).is_some_and(|r| caller.has(r));
        if !caller.is_tenant_admin() && !held {
            return Err(RolesError::NotHeld(role.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, TenantId, UserId};

    fn caller(roles: &[Role]) -> Principal {
        Principal {
            user: UserId::parse("sub", "u").unwrap(),
            tenant: TenantId::parse("tenant_id", "t").unwrap(),
            email: Some(Email::parse("u@t.example").unwrap()),
            tenant_name: None,
            roles: roles.to_vec(),
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn role_names_are_checked_and_kept_once_in_order() {
        assert_eq!(parse_roles(&names(&["Editor", "billing:read", "Editor"])).unwrap(), ["Editor", "billing:read"]);
        assert_eq!(parse_roles(&names(&["has space"])), Err(RolesError::BadName("has space".into())));
        assert!(matches!(parse_roles(&names(&[""])), Err(RolesError::BadName(_))));
        assert!(matches!(parse_roles(&[("x".repeat(MAX_ROLE_CHARS + 1))]), Err(RolesError::BadName(_))));
        let eleven: Vec<String> = (0..=MAX_ROLES).map(|i| format!("r{i}")).collect();
        assert_eq!(parse_roles(&eleven), Err(RolesError::TooMany(MAX_ROLES + 1)));
    }

    #[test]
    fn a_member_grants_only_invitable_roles_they_hold_and_an_administrator_any_invitable_one() {
        let invitable = names(&["TenantMember", "TenantAdministrator", "Billing"]);
        let member = caller(&[Role::TenantMember]);
        let admin = caller(&[Role::TenantAdministrator]);
        assert_eq!(may_grant(&names(&["TenantMember"]), &invitable, &member), Ok(()));
        assert_eq!(
            may_grant(&names(&["TenantAdministrator"]), &invitable, &member),
            Err(RolesError::NotHeld("TenantAdministrator".into()))
        );
        assert_eq!(may_grant(&names(&["Billing"]), &invitable, &member), Err(RolesError::NotHeld("Billing".into())));
        assert_eq!(may_grant(&names(&["Billing", "TenantAdministrator"]), &invitable, &admin), Ok(()));
        assert_eq!(may_grant(&names(&["Root"]), &invitable, &admin), Err(RolesError::NotInvitable("Root".into())));
        assert_eq!(may_grant(&[], &[], &member), Ok(()), "no roles asked, none needed");
    }
}
