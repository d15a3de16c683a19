//! API tokens for scripts and bots: made, listed and revoked by their owner, by name.

use super::credential::{CredentialKey, Secret, Token};
use super::{Accounts, AccountsError, Revocation, now_ms};
use crate::model::{TokenName, Username};

impl Accounts {
    /// Makes a new API token for an active user; the token itself is returned only
    /// now. Blocks.
    pub fn create_token(
        &self,
        username: &Username,
        name: TokenName,
    ) -> Result<(Secret, Token), AccountsError> {
        let storage = self.lock();
        self.existing(username, true)?;
        let taken = self
            .read()
            .tokens_of(username)
            .iter()
            .any(|(_, token)| token.name == name);
        if taken {
            return Err(AccountsError::TokenNameTaken(name));
        }
        let secret = Secret::generate();
        let hash = secret.hash();
        let token = Token {
            username: username.clone(),
            name,
            created: now_ms(),
        };
        storage.put_token(&hash, &token)?;
        storage.flush()?;
        self.write().tokens.insert(hash, token.clone());
        Ok((secret, token))
    }

    /// A user's tokens, oldest first. Does not block.
    pub fn tokens(&self, username: &Username) -> Vec<Token> {
        self.read()
            .tokens_of(username)
            .into_iter()
            .map(|(_, token)| token.clone())
            .collect()
    }

    /// Revokes the token of `username` called `name`. Blocks.
    pub fn revoke_token(&self, username: &Username, name: &str) -> Result<(), AccountsError> {
        let hash = {
            let storage = self.lock();
            let found = self
                .read()
                .tokens_of(username)
                .iter()
                .find(|(_, token)| token.name.as_str() == name.trim())
                .map(|(hash, _)| *hash);
            let Some(hash) = found else {
                return Err(AccountsError::UnknownToken(name.to_owned()));
            };
            storage.remove_tokens(&[hash])?;
            storage.flush()?;
            self.write().tokens.remove(&hash);
            hash
        };
        self.revoked(&Revocation::Credential(CredentialKey::Token(hash)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Role;
    use crate::accounts::test_support::{new_user, opened};

    #[test]
    fn tokens_are_made_listed_and_revoked_by_name() {
        let (_dir, _store, accounts) = opened();
        accounts.add_user(new_user("bot"), Role::Bot).unwrap();
        let bot = Username::parse("bot").unwrap();
        let ci = TokenName::parse("ci").unwrap();
        let (token, made) = accounts.create_token(&bot, ci.clone()).unwrap();
        assert_eq!(made.name, ci);
        let identity = accounts.authenticate_token(token.as_str()).unwrap();
        assert_eq!(
            (identity.username.as_str(), identity.role),
            ("bot", Role::Bot)
        );
        assert!(matches!(
            accounts.create_token(&bot, ci.clone()),
            Err(AccountsError::TokenNameTaken(_))
        ));
        accounts
            .create_token(&bot, TokenName::parse("deploy").unwrap())
            .unwrap();
        let names: Vec<String> = accounts
            .tokens(&bot)
            .iter()
            .map(|token| token.name.to_string())
            .collect();
        assert_eq!(names, ["ci", "deploy"]);
        assert!(matches!(
            accounts.revoke_token(&bot, "nope"),
            Err(AccountsError::UnknownToken(_))
        ));
        accounts.revoke_token(&bot, "ci").unwrap();
        assert!(accounts.authenticate_token(token.as_str()).is_none());
        assert_eq!(accounts.tokens(&bot).len(), 1);
        let nobody = Username::parse("nobody").unwrap();
        assert!(matches!(
            accounts.create_token(&nobody, ci),
            Err(AccountsError::UnknownUser(_))
        ));
    }
}
