//! The accounts in a backup. After the messages, `parley export` writes one JSON line
//! per user (with the argon2id hash of the password, never the password), per API
//! token (the SHA-256 of the token, never the token) and one for the join link's code.
//! Each carries a `kind`, which is how import tells them from messages (which have
//! none, so an export from before accounts imports unchanged). Sessions are not
//! carried: after a move to another data directory people sign in again.
//!
//! Import keeps what is already there (a user, a token, a join code) and adds the rest,
//! so importing the same file twice changes nothing, as for messages.

use std::io::Write;

use serde::{Deserialize, Serialize};

use super::code::Code;
use super::credential::{SecretHash, Token};
use super::user::User;
use super::{Accounts, AccountsError};
use crate::model::{TokenName, Username};

/// One line of the backup that is not a message.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum Record {
    User(User),
    Token {
        hash: SecretHash,
        username: Username,
        name: TokenName,
        created: u64,
    },
    Invite {
        code: Code,
    },
}

impl Accounts {
    /// Writes the accounts as JSON lines and returns how many. Blocking: for the CLI.
    pub fn export(&self, out: &mut impl Write) -> Result<u64, AccountsError> {
        let mut records: Vec<Record> = self.users().into_iter().map(Record::User).collect();
        {
            let index = self.read();
            let mut tokens: Vec<(&SecretHash, &Token)> = index.tokens.iter().collect();
            tokens.sort_by(|(_, a), (_, b)| {
                (&a.username, a.created, &a.name).cmp(&(&b.username, b.created, &b.name))
            });
            records.extend(tokens.into_iter().map(|(hash, token)| Record::Token {
                hash: *hash,
                username: token.username.clone(),
                name: token.name.clone(),
                created: token.created,
            }));
            records.extend(index.invite.clone().map(|code| Record::Invite { code }));
        }
        let write_error = |error: std::io::Error| {
            AccountsError::Storage(crate::store::StoreError::ExportWrite { source: error })
        };
        for record in &records {
            serde_json::to_writer(&mut *out, record).map_err(AccountsError::Encode)?;
            out.write_all(b"\n").map_err(write_error)?;
        }
        Ok(records.len() as u64)
    }

    /// Adds one line of the backup unless what it describes is already there; returns
    /// whether it added it. Users must come before their tokens, as export writes them.
    /// Not flushed: call [`Accounts::flush`] once all are in. Blocks.
    pub fn import_record(&self, line: &str) -> Result<bool, AccountsError> {
        let record: Record = serde_json::from_str(line)
            .map_err(|error| AccountsError::BadRecord(error.to_string()))?;
        let storage = self.lock();
        match record {
            Record::User(user) => {
                if self.read().users.contains_key(&user.username) {
                    return Ok(false);
                }
                storage.put_user(&user)?;
                self.write().users.insert(user.username.clone(), user);
            }
            Record::Token {
                hash,
                username,
                name,
                created,
            } => {
                let Some(owner) = self.read().users.get(&username).map(|user| user.active) else {
                    return Err(AccountsError::BadRecord(format!(
                        "token {name} of {username}, who is not in the backup before it"
                    )));
                };
                if !owner || self.read().tokens.contains_key(&hash) {
                    return Ok(false);
                }
                let token = Token {
                    username,
                    name,
                    created,
                };
                storage.put_token(&hash, &token)?;
                self.write().tokens.insert(hash, token);
            }
            Record::Invite { code } => {
                if self.read().invite.is_some() {
                    return Ok(false);
                }
                storage.put_invite(&code)?;
                self.write().invite = Some(code);
            }
        }
        Ok(true)
    }

    /// Makes every change so far durable. Blocks.
    pub fn flush(&self) -> Result<(), AccountsError> {
        self.lock().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Role;
    use crate::accounts::test_support::{new_user, opened};

    #[test]
    fn export_then_import_carries_users_tokens_and_the_join_code() {
        let (_dir, _store, source) = opened();
        source.add_user(new_user("ann"), Role::Admin).unwrap();
        source.add_user(new_user("bot"), Role::Bot).unwrap();
        let ann = Username::parse("ann").unwrap();
        let (token, _) = source
            .create_token(&ann, TokenName::parse("ci").unwrap())
            .unwrap();
        let code = source.invite_code().unwrap();
        let mut exported = Vec::new();
        assert_eq!(source.export(&mut exported).unwrap(), 4);
        let text = String::from_utf8(exported).unwrap();
        assert!(
            !text.contains(token.as_str()),
            "the token itself is never written"
        );
        assert!(
            text.lines().all(|line| line.starts_with("{\"kind\":")),
            "{text}"
        );

        let (_dir, _store, target) = opened();
        for line in text.lines() {
            assert!(target.import_record(line).unwrap(), "{line}");
        }
        for line in text.lines() {
            assert!(!target.import_record(line).unwrap(), "again: {line}");
        }
        target.flush().unwrap();
        assert!(target.sign_in("ann", "password1", None).is_ok());
        assert_eq!(
            target.authenticate_token(token.as_str()).unwrap().username,
            ann
        );
        assert_eq!(target.invite_code().unwrap(), code);
    }

    #[test]
    fn bad_records_are_named() {
        let (_dir, _store, accounts) = opened();
        for bad in [
            r#"{"kind":"robot"}"#,
            r#"{"kind":"invite","code":"short"}"#,
            r#"{"kind":"invite","code":"ABCD-EFGH-JK23","extra":1}"#,
            r#"{"kind":"token","hash":"00","username":"ann","name":"ci","created":0}"#,
        ] {
            assert!(
                matches!(
                    accounts.import_record(bad),
                    Err(AccountsError::BadRecord(_))
                ),
                "{bad}"
            );
        }
        let orphan = format!(
            r#"{{"kind":"token","hash":"{}","username":"nobody","name":"ci","created":0}}"#,
            "ab".repeat(32)
        );
        let error = accounts.import_record(&orphan).unwrap_err().to_string();
        assert!(error.contains("nobody"), "{error}");
    }
}
