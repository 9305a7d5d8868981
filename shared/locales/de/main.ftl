# Deutsch: dieselben Schlüssel wie ../en/main.ftl.

## E-Mails

subject-invitation = { $inviter } lädt Sie zu { $community } ein
subject-accepted = { $who } hat die Einladung zu { $community } angenommen
subject-confirmed = Sie sind jetzt Mitglied von { $community }
mail-hello = Guten Tag,
mail-user-invites = { $inviter } lädt Sie ein, { $community } beizutreten.
mail-their-message = Die Nachricht dazu:
mail-user-open = Öffnen Sie diesen Link, um die Einladung zu sehen und anzunehmen:
mail-user-button = Einladung ansehen und annehmen
mail-user-personal = Der Link ist persönlich: Wer ihn hat, kann die Einladung annehmen. Er gilt bis { $expires }.
mail-community-invites = { $inviter } lädt Ihre Organisation ein, der Community „{ $community }“ beizutreten.
mail-community-open = Öffnen Sie diesen Link, um die Einladung zu sehen und sie anzunehmen oder abzulehnen:
mail-community-button = Einladung ansehen und beantworten
mail-community-personal = Der Link ist persönlich: Wer ihn hat, kann die Einladung beantworten. Er gilt bis { $expires }.
mail-accepted = { $invitee } hat die Einladung angenommen, der Community „{ $community }“ beizutreten.
mail-accepted-next = Bestätigen Sie das neue Mitglied in den Einladungen Ihrer Community, oder lehnen Sie es dort ab.
mail-confirmed = Sie sind jetzt Mitglied der Community „{ $community }“: { $inviter } hat Ihre Organisation bestätigt.
mail-support = Fragen? Schreiben Sie an { $support }.
mail-acceptor = { $address } für den Mandanten { $tenant }
mail-an-administrator = ein Administrator
mail-claimed-name = { $who } (der Mandant nennt sich „{ $name }“, ein Name, den rsvp nicht geprüft hat)

## Landing-Seiten

page-kicker-community = Einladung in eine Community
page-kicker-user = Einladung
page-title = Einladung zu { $name }
page-community-lead = { $issuer } lädt Ihre Organisation ein, der Community { $community } beizutreten.
page-user-lead = { $inviter } lädt Sie ein, { $tenant } beizutreten.
page-expired = Diese Einladung von { $sender } ist abgelaufen. Bitten Sie darum, sie erneut zu senden.
page-declined = Sie haben diese Einladung abgelehnt. Mehr ist nicht nötig; dieser Link funktioniert nicht mehr.
page-accepted = Willkommen, { $name }: Sie haben die Einladung zu { $tenant } angenommen. Dieser Link funktioniert nicht mehr.
page-from = Von
page-sent-to = Gesendet an
page-status = Status
page-expires = Gültig bis
page-questions = Fragen
page-accept = Annehmen
page-accept-as = als { $address }
page-accept-in-domain = mit einer Adresse bei { $domain }
page-accept-signed-in = Ein Administrator Ihrer Organisation, angemeldet { $by }, nimmt die Einladung für sie an.
page-sign-in-to-accept = Zum Annehmen anmelden
page-accept-in-product = Ein Administrator Ihrer Organisation nimmt die Einladung in dem Produkt an, das sie gesendet hat, angemeldet { $by }. Dafür braucht er die Einladung { $id } und diesen Link.
page-first-name = Vorname
page-last-name = Nachname
page-accept-button = Einladung annehmen
page-decline = Ablehnen
page-decline-community = Kein Interesse? Wer diesen Link hat, kann ablehnen, ohne sich anzumelden.
page-decline-user = Kein Interesse? Wer diesen Link hat, kann ablehnen.
page-decline-button = Einladung ablehnen
page-help = Hilfe:

## Zustände, wie die Seiten sie nennen

state-waiting = Wartet auf Antwort
state-accepted-unconfirmed = Angenommen, wartet auf die Bestätigung der Community
state-accepted-confirmed = Angenommen und bestätigt
state-accepted = Angenommen
state-declined = Abgelehnt
state-expired = Abgelaufen
state-withdrawn = Vom Absender zurückgezogen
