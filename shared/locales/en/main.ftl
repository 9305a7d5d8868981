# rsvp's words for people: the invitation emails and the landing pages. Every key has a German twin in
# ../de/main.ftl (a unit test checks both hold the same keys). Values that people typed ($community, $inviter,
# $message, …) are escaped by the templates, never here.

## Emails

subject-invitation = { $inviter } invites you to join { $community }
subject-accepted = { $who } accepted the invitation to { $community }
subject-confirmed = You are now a member of { $community }
mail-hello = Hello,
mail-user-invites = { $inviter } invites you to join { $community }.
mail-their-message = Their message:
mail-user-open = Open this link to see the invitation and accept it:
mail-user-button = See the invitation and accept it
mail-user-personal = The link is personal: anyone who has it can accept the invitation. It works until { $expires }.
mail-community-invites = { $inviter } invites your organisation to join the community "{ $community }".
mail-community-open = Open this link to see the invitation and accept or decline it:
mail-community-button = See the invitation and answer it
mail-community-personal = The link is personal: anyone who has it can answer the invitation. It works until { $expires }.
mail-accepted = { $invitee } accepted the invitation to join the community "{ $community }".
mail-accepted-next = Confirm the new member, or decline it, from your community's invitations.
mail-confirmed = You are now a member of the community "{ $community }": { $inviter } confirmed your organisation.
mail-support = Questions? Write to { $support }.
mail-acceptor = { $address } for tenant { $tenant }
mail-an-administrator = an administrator
mail-claimed-name = { $who } (the tenant calls itself "{ $name }", a name rsvp has not verified)

## Landing pages

page-kicker-community = Community invitation
page-kicker-user = Invitation
page-title = Invitation to { $name }
page-community-lead = { $issuer } invites your organisation to join the community { $community }.
page-user-lead = { $inviter } invites you to join { $tenant }.
page-expired = This invitation from { $sender } has expired. Ask them to send it again.
page-declined = You declined this invitation. Nothing else is needed; this link no longer works.
page-accepted = Welcome, { $name }: you accepted the invitation to { $tenant }. This link no longer works.
page-from = From
page-sent-to = Sent to
page-status = Status
page-expires = Expires
page-questions = Questions
page-accept = Accept
page-accept-as = as { $address }
page-accept-in-domain = with an address at { $domain }
page-accept-signed-in = An administrator of your organisation, signed in { $by }, accepts for it.
page-sign-in-to-accept = Sign in to accept
page-accept-in-product = An administrator of your organisation accepts it in the product that sent this invitation, signed in { $by }. They need the invitation { $id } and this link.
page-first-name = First name
page-last-name = Last name
page-accept-button = Accept invitation
page-decline = Decline
page-decline-community = Not interested? Anyone holding this link can decline, without signing in.
page-decline-user = Not interested? Anyone holding this link can decline.
page-decline-button = Decline invitation
page-help = Help:

## States, as the pages name them

state-waiting = Waiting for an answer
state-accepted-unconfirmed = Accepted, waiting for the community to confirm
state-accepted-confirmed = Accepted and confirmed
state-accepted = Accepted
state-declined = Declined
state-expired = Expired
state-withdrawn = Withdrawn by the sender
