//! Accounts, sessions and the token blocklist: `UserRepo`, `SessionRepo` and
//! `TokenBlocklist` on the embedded store.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{
    ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction,
};

use super::{
    decode, encode, EmbeddedStore, TxError, BLOCKLIST, SESSIONS, USERS, USER_BY_EMAIL,
    USER_BY_NAME, USER_SESSIONS,
};
use crate::domain::Role;
use crate::store::{
    NewUser, ProfilePatch, SessionRecord, SessionRepo, StoreError, TokenBlocklist, UserRecord,
    UserRepo,
};

/// Accounts being deleted (`begin_deletion`), so a restart finds them at once.
const USERS_DELETING: TableDefinition<&str, ()> = TableDefinition::new("users_deleting");

pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), TxError> {
    txn.open_table(USERS_DELETING)?;
    Ok(())
}

/// Rebuilds the email index with today's `email_key`. Accounts whose addresses now
/// fold to one key (made apart before case folding) keep working by id and
/// username; the oldest keeps the email login, and the others are logged for an
/// admin to resolve.
pub(super) fn rekey_emails(txn: &WriteTransaction) -> Result<(), TxError> {
    let users: Vec<UserRecord> = {
        let table = txn.open_table(USERS)?;
        let mut all = Vec::new();
        for entry in table.iter()? {
            all.push(decode(entry?.1.value())?);
        }
        all
    };
    txn.delete_table(USER_BY_EMAIL)?;
    let mut by_email = txn.open_table(USER_BY_EMAIL)?;
    for user in &users {
        let key = user.email_key();
        let taken = by_email.get(key.as_str())?.map(|id| id.value().to_owned());
        match taken {
            Some(first) => tracing::warn!(user_id = %user.id, other = %first,
                "two accounts have the same email once case-folded; only the older one \
                 can log in with it"),
            None => {
                by_email.insert(key.as_str(), user.id.as_str())?;
            }
        }
    }
    Ok(())
}

impl EmbeddedStore {
    fn user_by_index(
        &self,
        index: TableDefinition<&str, &str>,
        key: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let id = {
            let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
            let table = txn.open_table(index).map_err(StoreError::unavailable)?;
            let found = table.get(key).map_err(StoreError::unavailable)?;
            match found {
                Some(id) => id.value().to_owned(),
                None => return Ok(None),
            }
        };
        self.read_json(USERS, &id)
    }

    /// Loads, changes and stores one user inside a write transaction.
    async fn modify_user<F>(&self, id: &str, change: F) -> Result<UserRecord, StoreError>
    where
        F: FnOnce(&WriteTransaction, &mut UserRecord) -> Result<(), TxError> + Send + 'static,
    {
        let id = id.to_owned();
        self.write(move |txn| {
            let mut users = txn.open_table(USERS)?;
            let mut user: UserRecord = match users.get(id.as_str())? {
                Some(bytes) => decode(bytes.value())?,
                None => return Err(TxError::Store(StoreError::NotFound)),
            };
            change(txn, &mut user)?;
            users.insert(id.as_str(), encode(&user)?.as_slice())?;
            Ok(user)
        })
        .await
    }
}

#[async_trait]
impl UserRepo for EmbeddedStore {
    async fn create(&self, new: NewUser) -> Result<UserRecord, StoreError> {
        self.write(move |txn| {
            let mut users = txn.open_table(USERS)?;
            let mut by_name = txn.open_table(USER_BY_NAME)?;
            let mut by_email = txn.open_table(USER_BY_EMAIL)?;
            // redb has one writer at a time, so "is this the first account" and the
            // insert are one atomic step.
            let role = if users.is_empty()? {
                Role::Admin
            } else {
                Role::User
            };
            let user = UserRecord {
                id: new.id,
                username: new.username,
                email: new.email,
                full_name: new.full_name,
                bio: None,
                role,
                is_active: true,
                password_hash: new.password_hash,
                created_at: new.created_at,
                deleting: false,
            };
            let (name_key, email_key) = (user.username_key(), user.email_key());
            if by_name.get(name_key.as_str())?.is_some() {
                return Err(TxError::Store(StoreError::Conflict("username")));
            }
            if by_email.get(email_key.as_str())?.is_some() {
                return Err(TxError::Store(StoreError::Conflict("email")));
            }
            by_name.insert(name_key.as_str(), user.id.as_str())?;
            by_email.insert(email_key.as_str(), user.id.as_str())?;
            users.insert(user.id.as_str(), encode(&user)?.as_slice())?;
            Ok(user)
        })
        .await
    }

    async fn by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        self.read_json(USERS, id)
    }

    async fn by_username(&self, username_key: &str) -> Result<Option<UserRecord>, StoreError> {
        self.user_by_index(USER_BY_NAME, username_key)
    }

    async fn by_email(&self, email_key: &str) -> Result<Option<UserRecord>, StoreError> {
        self.user_by_index(USER_BY_EMAIL, email_key)
    }

    async fn update_profile(
        &self,
        id: &str,
        patch: ProfilePatch,
    ) -> Result<UserRecord, StoreError> {
        self.modify_user(id, move |txn, user| {
            if let Some(email) = patch.email {
                let new_key = crate::domain::email_key(&email);
                let old_key = user.email_key();
                if new_key != old_key {
                    let mut by_email = txn.open_table(USER_BY_EMAIL)?;
                    if by_email.get(new_key.as_str())?.is_some() {
                        return Err(TxError::Store(StoreError::Conflict("email")));
                    }
                    // Only our own entry (see `rekey_emails` for accounts without one).
                    let ours = by_email
                        .get(old_key.as_str())?
                        .is_some_and(|owner| owner.value() == user.id);
                    if ours {
                        by_email.remove(old_key.as_str())?;
                    }
                    by_email.insert(new_key.as_str(), user.id.as_str())?;
                }
                user.email = email;
            }
            if let Some(full_name) = patch.full_name {
                user.full_name = full_name;
            }
            if let Some(bio) = patch.bio {
                user.bio = bio;
            }
            Ok(())
        })
        .await
    }

    async fn set_password_hash(&self, id: &str, hash: &str) -> Result<(), StoreError> {
        let hash = hash.to_owned();
        self.modify_user(id, move |_, user| {
            user.password_hash = hash;
            Ok(())
        })
        .await
        .map(drop)
    }

    async fn set_role(&self, id: &str, role: Role) -> Result<UserRecord, StoreError> {
        self.modify_user(id, move |_, user| {
            user.role = role;
            Ok(())
        })
        .await
    }

    async fn set_active(&self, id: &str, active: bool) -> Result<UserRecord, StoreError> {
        self.modify_user(id, move |_, user| {
            user.is_active = active;
            Ok(())
        })
        .await
    }

    async fn list(&self, limit: u32, offset: u64) -> Result<(Vec<UserRecord>, u64), StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let users = txn.open_table(USERS).map_err(StoreError::unavailable)?;
        let total = users.len().map_err(StoreError::unavailable)?;
        let mut page = Vec::with_capacity(limit as usize);
        // Ids are ObjectIds: their hex order is creation order.
        for entry in users
            .iter()
            .map_err(StoreError::unavailable)?
            .skip(offset as usize)
            .take(limit as usize)
        {
            let (_, bytes) = entry.map_err(StoreError::unavailable)?;
            page.push(decode(bytes.value())?);
        }
        Ok((page, total))
    }

    async fn with_prefix(
        &self,
        prefix: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<UserRecord>, u64), StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let by_name = txn
            .open_table(USER_BY_NAME)
            .map_err(StoreError::unavailable)?;
        let users = txn.open_table(USERS).map_err(StoreError::unavailable)?;
        let (mut total, mut page) = (0u64, Vec::with_capacity(limit as usize));
        for entry in by_name.range(prefix..).map_err(StoreError::unavailable)? {
            let (name, id) = entry.map_err(StoreError::unavailable)?;
            if !name.value().starts_with(prefix) {
                break;
            }
            if total >= offset && page.len() < limit as usize {
                if let Some(bytes) = users.get(id.value()).map_err(StoreError::unavailable)? {
                    page.push(decode(bytes.value())?);
                }
            }
            total += 1;
        }
        Ok((page, total))
    }

    async fn begin_deletion(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let marked = self
            .modify_user(id, |txn, user| {
                user.is_active = false;
                user.deleting = true;
                txn.open_table(USERS_DELETING)?
                    .insert(user.id.as_str(), ())?;
                Ok(())
            })
            .await;
        match marked {
            Ok(user) => Ok(Some(user)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn deletions_pending(&self) -> Result<Vec<UserRecord>, StoreError> {
        let ids: Vec<String> = {
            let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
            let table = txn
                .open_table(USERS_DELETING)
                .map_err(StoreError::unavailable)?;
            let iter = table.iter().map_err(StoreError::unavailable)?;
            iter.map(|e| e.map(|(k, _)| k.value().to_owned()))
                .collect::<Result<_, _>>()
                .map_err(StoreError::unavailable)?
        };
        let mut users = Vec::with_capacity(ids.len());
        for id in ids {
            users.extend(self.read_json::<UserRecord>(USERS, &id)?);
        }
        Ok(users)
    }

    async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let found = txn
                .open_table(USERS)?
                .remove(id.as_str())?
                .map(|b| b.value().to_vec());
            txn.open_table(USERS_DELETING)?.remove(id.as_str())?;
            let Some(user) = found.map(|b| decode::<UserRecord>(&b)).transpose()? else {
                return Ok(false);
            };
            txn.open_table(USER_BY_NAME)?
                .remove(user.username_key().as_str())?;
            let mut by_email = txn.open_table(USER_BY_EMAIL)?;
            let email_key = user.email_key();
            // Only if the key is this account's (see `rekey_emails`).
            let mine = by_email
                .get(email_key.as_str())?
                .is_some_and(|v| v.value() == id);
            if mine {
                by_email.remove(email_key.as_str())?;
            }
            let sessions: Vec<String> = {
                let index = txn.open_table(USER_SESSIONS)?;
                let range =
                    index.range((id.as_str(), "")..=(id.as_str(), super::search::ID_MAX))?;
                range
                    .map(|e| e.map(|(k, _)| k.value().1.to_owned()))
                    .collect::<Result<_, _>>()?
            };
            let mut index = txn.open_table(USER_SESSIONS)?;
            let mut records = txn.open_table(SESSIONS)?;
            for sid in sessions {
                index.remove((id.as_str(), sid.as_str()))?;
                records.remove(sid.as_str())?;
            }
            Ok(true)
        })
        .await
    }
}

#[async_trait]
impl SessionRepo for EmbeddedStore {
    async fn create_session(&self, session: SessionRecord) -> Result<(), StoreError> {
        self.write(move |txn| {
            txn.open_table(SESSIONS)?
                .insert(session.id.as_str(), encode(&session)?.as_slice())?;
            txn.open_table(USER_SESSIONS)?
                .insert((session.user_id.as_str(), session.id.as_str()), ())?;
            Ok(())
        })
        .await
    }

    async fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.read_json(SESSIONS, id)
    }

    async fn rotate_session(
        &self,
        id: &str,
        expected_jti: &str,
        new_jti: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (id, expected, new_jti) = (id.to_owned(), expected_jti.to_owned(), new_jti.to_owned());
        self.write(move |txn| {
            let mut sessions = txn.open_table(SESSIONS)?;
            let mut session: SessionRecord = match sessions.get(id.as_str())? {
                Some(bytes) => decode(bytes.value())?,
                None => return Ok(false),
            };
            if session.revoked || session.refresh_jti != expected {
                return Ok(false);
            }
            session.refresh_jti = new_jti;
            session.expires_at = expires_at;
            sessions.insert(id.as_str(), encode(&session)?.as_slice())?;
            Ok(true)
        })
        .await
    }

    async fn revoke_session(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |txn| revoke_in(txn, &id)).await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> Result<(), StoreError> {
        let (user_id, except) = (user_id.to_owned(), except.map(str::to_owned));
        self.write(move |txn| {
            let ids: Vec<String> = {
                let index = txn.open_table(USER_SESSIONS)?;
                let range = index.range((user_id.as_str(), "")..)?;
                let mut ids = Vec::new();
                for entry in range {
                    let (key, _) = entry?;
                    let (owner, sid) = key.value();
                    if owner != user_id {
                        break;
                    }
                    ids.push(sid.to_owned());
                }
                ids
            };
            for sid in ids.iter().filter(|s| Some(s.as_str()) != except.as_deref()) {
                revoke_in(txn, sid)?;
            }
            Ok(())
        })
        .await
    }
}

fn revoke_in(txn: &WriteTransaction, id: &str) -> Result<(), TxError> {
    let mut sessions = txn.open_table(SESSIONS)?;
    let session: Option<SessionRecord> = match sessions.get(id)? {
        Some(bytes) => Some(decode(bytes.value())?),
        None => None,
    };
    if let Some(mut session) = session.filter(|s| !s.revoked) {
        session.revoked = true;
        sessions.insert(id, encode(&session)?.as_slice())?;
    }
    Ok(())
}

#[async_trait]
impl TokenBlocklist for EmbeddedStore {
    async fn block(&self, jti: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        let jti = jti.to_owned();
        self.write(move |txn| {
            txn.open_table(BLOCKLIST)?
                .insert(jti.as_str(), expires_at.timestamp_millis())?;
            Ok(())
        })
        .await
    }

    async fn is_blocked(&self, jti: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let table = txn.open_table(BLOCKLIST).map_err(StoreError::unavailable)?;
        Ok(table.get(jti).map_err(StoreError::unavailable)?.is_some())
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let cutoff = now.timestamp_millis();
        self.write(move |txn| {
            let mut removed = 0u64;
            txn.open_table(BLOCKLIST)?.retain(|_, exp| {
                let keep = exp >= cutoff;
                removed += u64::from(!keep);
                keep
            })?;
            Ok(removed)
        })
        .await
    }
}
