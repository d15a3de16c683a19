//! Signing in and out, and passwords changing: the life of browser sessions.

use std::net::IpAddr;
use std::time::Instant;

use super::credential::{CredentialKey, Secret, SecretHash, Session};
use super::password::{Password, PasswordHash};
use super::storage::Storage;
use super::{Accounts, AccountsError, Identity, Revocation, SignedIn, now_ms};
use crate::model::Username;

impl Accounts {
    /// Checks a username and password and opens a session. Every failure is the same
    /// [`AccountsError::WrongCredentials`] and costs the same argon2 run, so neither
    /// the answer nor its timing tells which usernames exist; after too many failures
    /// from `client`, its sign-ins are refused for a while. Blocks.
    pub fn sign_in(
        &self,
        username: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<SignedIn, AccountsError> {
        let now = Instant::now();
        if let Some(client) = client {
            self.throttle.check(client, now)?;
        }
        let user = Username::parse(username)
            .ok()
            .and_then(|username| self.read().active_user(&username).cloned());
        let verified = match (&user, Password::parse(password)) {
            (Some(user), Ok(password)) => user.password_hash.matches(&password),
            (None, Ok(password)) => {
                PasswordHash::waste_a_check(&password);
                false
            }
            // No password outside the rule was ever accepted.
            (_, Err(_)) => false,
        };
        let failed = || {
            if let Some(client) = client {
                self.throttle.record_failure(client, now);
            }
            AccountsError::WrongCredentials
        };
        let Some(user) = user.filter(|_| verified) else {
            return Err(failed());
        };
        let storage = self.lock();
        // Deactivated while the password was being checked.
        if self.read().active_user(&user.username).is_none() {
            return Err(failed());
        }
        let session = self.start_session(&storage, &user.username)?;
        Ok(SignedIn { user, session })
    }

    /// Ends the session `credential` names. A token is left alone: tokens are revoked
    /// by name. Blocks.
    pub fn sign_out(&self, credential: CredentialKey) -> Result<(), AccountsError> {
        let CredentialKey::Session(hash) = credential else {
            return Ok(());
        };
        {
            let storage = self.lock();
            storage.remove_sessions(&[hash])?;
            storage.flush()?;
            self.write().sessions.remove(&hash);
        }
        self.revoked(&Revocation::Credential(credential));
        Ok(())
    }

    /// Changes the signed-in user's password after checking the current one, and signs
    /// out their other sessions. A wrong current password counts as a failed sign-in
    /// from `client`. Blocks.
    pub fn change_password(
        &self,
        identity: &Identity,
        current: &str,
        new: &Password,
        client: Option<IpAddr>,
    ) -> Result<(), AccountsError> {
        let now = Instant::now();
        if let Some(client) = client {
            self.throttle.check(client, now)?;
        }
        let user = self.existing(&identity.username, true)?;
        let matches = Password::parse(current).is_ok_and(|c| user.password_hash.matches(&c));
        if !matches {
            if let Some(client) = client {
                self.throttle.record_failure(client, now);
            }
            return Err(AccountsError::WrongCurrentPassword);
        }
        let keep = match identity.credential {
            CredentialKey::Session(hash) => Some(hash),
            CredentialKey::Token(_) => None,
        };
        self.replace_password(&identity.username, new, keep)
    }

    /// Sets a user's password (the command line) and signs out all their sessions.
    /// Blocks.
    pub fn set_password(&self, username: &Username, new: &Password) -> Result<(), AccountsError> {
        self.replace_password(username, new, None)
    }

    /// A new session of `username`: its id for the cookie, the hash it is kept under,
    /// and the record.
    pub(super) fn new_session(username: &Username) -> (Secret, SecretHash, Session) {
        let secret = Secret::generate();
        let hash = secret.hash();
        let session = Session {
            username: username.clone(),
            created: now_ms(),
        };
        (secret, hash, session)
    }

    /// Opens a session for `username`: written, flushed, then in the index.
    fn start_session(
        &self,
        storage: &Storage,
        username: &Username,
    ) -> Result<Secret, AccountsError> {
        let (secret, hash, session) = Accounts::new_session(username);
        storage.put_session(&hash, &session)?;
        storage.flush()?;
        self.write().sessions.insert(hash, session);
        Ok(secret)
    }

    /// Sets a new password and ends every session of the user but `keep`.
    fn replace_password(
        &self,
        username: &Username,
        new: &Password,
        keep: Option<SecretHash>,
    ) -> Result<(), AccountsError> {
        let hash = PasswordHash::of(new)?;
        let ended: Vec<SecretHash> = {
            let storage = self.lock();
            let mut user = self.existing(username, false)?;
            user.password_hash = hash;
            let ended: Vec<SecretHash> = self
                .read()
                .sessions_of(username)
                .into_iter()
                .filter(|session| Some(*session) != keep)
                .collect();
            self.save_user(&storage, user, &ended, &[])?;
            ended
        };
        for session in ended {
            self.revoked(&Revocation::Credential(CredentialKey::Session(session)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Role;
    use crate::accounts::test_support::{cookie, new_user, opened};

    #[test]
    fn every_failed_sign_in_is_the_same_and_too_many_are_refused() {
        let (_dir, _store, accounts) = opened();
        accounts.add_user(new_user("ann"), Role::Member).unwrap();
        let client: IpAddr = "192.0.2.7".parse().unwrap();
        for (username, password) in [
            ("ann", "wrong password"),
            ("nobody", "password1"),
            ("ann", "short"),
            ("not a username", "password1"),
        ] {
            let error = accounts.sign_in(username, password, Some(client)).err();
            assert!(
                matches!(error, Some(AccountsError::WrongCredentials)),
                "{username}: {error:?}"
            );
        }
        let signed_in = accounts.sign_in("ANN", "password1", Some(client)).unwrap();
        assert_eq!(signed_in.user.username.as_str(), "ann");
        for _ in 4..10 {
            assert!(accounts.sign_in("ann", "nope-nope", Some(client)).is_err());
        }
        assert!(matches!(
            accounts.sign_in("ann", "password1", Some(client)),
            Err(AccountsError::TooManyFailures)
        ));
        assert!(accounts.sign_in("ann", "password1", None).is_ok());
    }

    #[test]
    fn signing_out_ends_only_that_session() {
        let (_dir, _store, accounts) = opened();
        accounts.add_user(new_user("ann"), Role::Member).unwrap();
        let first = accounts.sign_in("ann", "password1", None).unwrap();
        let second = accounts.sign_in("ann", "password1", None).unwrap();
        let identity = accounts
            .authenticate_cookie(&cookie(&first.session))
            .unwrap();
        accounts.sign_out(identity.credential).unwrap();
        assert!(
            accounts
                .authenticate_cookie(&cookie(&first.session))
                .is_none()
        );
        assert!(
            accounts
                .authenticate_cookie(&cookie(&second.session))
                .is_some()
        );
    }

    #[test]
    fn a_new_password_signs_out_the_other_sessions() {
        let (_dir, _store, accounts) = opened();
        accounts.add_user(new_user("ann"), Role::Member).unwrap();
        let here = accounts.sign_in("ann", "password1", None).unwrap();
        let elsewhere = accounts.sign_in("ann", "password1", None).unwrap();
        let identity = accounts
            .authenticate_cookie(&cookie(&here.session))
            .unwrap();
        let new = Password::parse("password2").unwrap();
        assert!(matches!(
            accounts.change_password(&identity, "password9", &new, None),
            Err(AccountsError::WrongCurrentPassword)
        ));
        accounts
            .change_password(&identity, "password1", &new, None)
            .unwrap();
        assert!(
            accounts
                .authenticate_cookie(&cookie(&here.session))
                .is_some()
        );
        assert!(
            accounts
                .authenticate_cookie(&cookie(&elsewhere.session))
                .is_none()
        );
        assert!(accounts.sign_in("ann", "password1", None).is_err());
        assert!(accounts.sign_in("ann", "password2", None).is_ok());
        let ann = Username::parse("ann").unwrap();
        accounts
            .set_password(&ann, &Password::parse("password3").unwrap())
            .unwrap();
        assert!(
            accounts
                .authenticate_cookie(&cookie(&here.session))
                .is_none()
        );
    }
}
