//! Accounts, sessions and the token blocklist: `UserRepo`, `SessionRepo` and
//! `TokenBlocklist` on MongoDB, with the first-admin claim that makes the first
//! account an administrator.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, oid::ObjectId, Document};
use mongodb::error::Error as MongoError;
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use super::{
    find_one_as, find_page, from_bson_dt, is_duplicate, parse_oid, to_bson_dt, MongoStore,
};
use crate::domain::Role;
use crate::store::{
    NewUser, ProfilePatch, SessionRecord, SessionRepo, StoreError, TokenBlocklist, UserRecord,
    UserRepo,
};

/// Bumped whenever `domain::email_key` changes (2: Unicode case folding, was
/// lower-casing); a database with another version has its keys recomputed.
const EMAIL_KEYS_VERSION: i32 = 2;

impl MongoStore {
    /// Recomputes every `email_key` with today's folding, once per version. Two
    /// accounts whose addresses now fold to one key (made apart before case
    /// folding) cannot both have it: the one re-keyed second keeps its old key (it
    /// still logs in by username) and is logged for an admin to resolve. Which one
    /// that is depends on the old keys (an account whose old key already equals
    /// the new one is not re-keyed at all), so it may be the older account.
    pub(super) async fn rekey_emails(&self) -> Result<(), StoreError> {
        let marker = doc! { "_id": "email_keys" };
        let done = self
            .meta
            .find_one(marker.clone())
            .await
            .map_err(StoreError::unavailable)?
            .and_then(|d| d.get_i32("version").ok());
        if done == Some(EMAIL_KEYS_VERSION) {
            return Ok(());
        }
        let mut users = self
            .users
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .await
            .map_err(StoreError::unavailable)?;
        while let Some(u) = futures_util::TryStreamExt::try_next(&mut users)
            .await
            .map_err(StoreError::unavailable)?
        {
            let key = crate::domain::email_key(&u.email);
            if key == u.email_key {
                continue;
            }
            let set = doc! { "$set": { "email_key": &key } };
            match self.users.update_one(doc! { "_id": u.id }, set).await {
                Ok(_) => {}
                Err(e) if is_duplicate(&e) => tracing::warn!(user_id = %u.id.to_hex(),
                    "two accounts have the same email once case-folded; this one keeps \
                     its old key and logs in by username until an admin resolves it"),
                Err(e) => return Err(StoreError::unavailable(e)),
            }
        }
        self.meta
            .update_one(marker, doc! { "$set": { "version": EMAIL_KEYS_VERSION } })
            .upsert(true)
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    /// A process that died between winning the first-admin claim and promoting the
    /// account leaves the claim behind; finish it.
    pub(super) async fn finish_admin_claim(&self) -> Result<(), StoreError> {
        let claim = self
            .claims
            .find_one(doc! { "_id": "first_admin" })
            .await
            .map_err(StoreError::unavailable)?;
        if let Some(user_id) = claim.and_then(|c| c.get_object_id("user_id").ok()) {
            self.users
                .update_one(
                    doc! { "_id": user_id },
                    doc! { "$set": { "role": "admin" } },
                )
                .await
                .map_err(StoreError::unavailable)?;
        }
        Ok(())
    }

    async fn set_user_field(&self, id: &str, update: Document) -> Result<UserRecord, StoreError> {
        let oid = parse_oid(id).ok_or(StoreError::NotFound)?;
        self.users
            .find_one_and_update(doc! { "_id": oid }, doc! { "$set": update })
            .return_document(ReturnDocument::After)
            .await
            .map_err(map_write_error)?
            .map(UserRecord::from)
            .ok_or(StoreError::NotFound)
    }

    async fn user_where(&self, filter: Document) -> Result<Option<UserRecord>, StoreError> {
        find_one_as(&self.users, filter).await
    }
}

/// Only for writes that touch the email index: anything else unique is ours to name.
fn map_write_error(e: MongoError) -> StoreError {
    if is_duplicate(&e) {
        StoreError::Conflict("email")
    } else {
        StoreError::unavailable(e)
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct UserDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    username: String,
    username_key: String,
    email: String,
    email_key: String,
    full_name: Option<String>,
    bio: Option<String>,
    role: Role,
    is_active: bool,
    password_hash: String,
    created_at: bson::DateTime,
    /// Present (true) only while the account is being deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    deleting: bool,
}

impl From<UserDoc> for UserRecord {
    fn from(d: UserDoc) -> Self {
        UserRecord {
            id: d.id.to_hex(),
            username: d.username,
            email: d.email,
            full_name: d.full_name,
            bio: d.bio,
            role: d.role,
            is_active: d.is_active,
            password_hash: d.password_hash,
            created_at: from_bson_dt(d.created_at),
            deleting: d.deleting,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SessionDoc {
    #[serde(rename = "_id")]
    id: String,
    user_id: String,
    refresh_jti: String,
    revoked: bool,
    expires_at: bson::DateTime,
}

#[async_trait]
impl UserRepo for MongoStore {
    async fn create(&self, new: NewUser) -> Result<UserRecord, StoreError> {
        let oid = parse_oid(&new.id).unwrap_or_default();
        let doc = UserDoc {
            id: oid,
            username_key: new.username.to_ascii_lowercase(),
            email_key: crate::domain::email_key(&new.email),
            username: new.username,
            email: new.email,
            full_name: new.full_name,
            bio: None,
            role: Role::User,
            is_active: true,
            deleting: false,
            password_hash: new.password_hash,
            created_at: to_bson_dt(new.created_at),
        };
        let username_key = doc.username_key.clone();
        if let Err(e) = self.users.insert_one(&doc).await {
            if !is_duplicate(&e) {
                return Err(StoreError::unavailable(e));
            }
            // Name the key that clashed without parsing the server's message.
            let taken = self
                .users
                .find_one(doc! { "username_key": &username_key })
                .await
                .map_err(StoreError::unavailable)?;
            return Err(StoreError::Conflict(if taken.is_some() {
                "username"
            } else {
                "email"
            }));
        }
        // Several API processes may sign up at once: a unique `_id` decides who was
        // first, atomically, on the server. The account exists before it is promoted,
        // and `finish_admin_claim` repairs a crash in between.
        let claim = self
            .claims
            .insert_one(doc! { "_id": "first_admin", "user_id": oid })
            .await;
        let mut user = UserRecord::from(doc);
        match claim {
            Ok(_) => {
                self.users
                    .update_one(doc! { "_id": oid }, doc! { "$set": { "role": "admin" } })
                    .await
                    .map_err(StoreError::unavailable)?;
                user.role = Role::Admin;
            }
            Err(e) if is_duplicate(&e) => {}
            Err(e) => return Err(StoreError::unavailable(e)),
        }
        Ok(user)
    }

    async fn by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        match parse_oid(id) {
            Some(oid) => self.user_where(doc! { "_id": oid }).await,
            None => Ok(None),
        }
    }

    async fn by_username(&self, username_key: &str) -> Result<Option<UserRecord>, StoreError> {
        self.user_where(doc! { "username_key": username_key }).await
    }

    async fn by_email(&self, email_key: &str) -> Result<Option<UserRecord>, StoreError> {
        self.user_where(doc! { "email_key": email_key }).await
    }

    async fn update_profile(
        &self,
        id: &str,
        patch: ProfilePatch,
    ) -> Result<UserRecord, StoreError> {
        let mut set = Document::new();
        if let Some(email) = patch.email {
            set.insert("email_key", crate::domain::email_key(&email));
            set.insert("email", email);
        }
        if let Some(full_name) = patch.full_name {
            set.insert("full_name", full_name);
        }
        if let Some(bio) = patch.bio {
            set.insert("bio", bio);
        }
        if set.is_empty() {
            return self.by_id(id).await?.ok_or(StoreError::NotFound);
        }
        self.set_user_field(id, set).await
    }

    async fn set_password_hash(&self, id: &str, hash: &str) -> Result<(), StoreError> {
        self.set_user_field(id, doc! { "password_hash": hash })
            .await
            .map(drop)
    }

    async fn set_role(&self, id: &str, role: Role) -> Result<UserRecord, StoreError> {
        self.set_user_field(id, doc! { "role": role.as_str() })
            .await
    }

    async fn set_active(&self, id: &str, active: bool) -> Result<UserRecord, StoreError> {
        self.set_user_field(id, doc! { "is_active": active }).await
    }

    async fn list(&self, limit: u32, offset: u64) -> Result<(Vec<UserRecord>, u64), StoreError> {
        find_page(&self.users, doc! {}, doc! { "_id": 1 }, limit, offset).await
    }

    async fn with_prefix(
        &self,
        prefix: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<UserRecord>, u64), StoreError> {
        // An anchored, case-sensitive regex on the key is a range on its index.
        let pattern = format!("^{}", regex_escape(prefix));
        let filter = doc! { "username_key": { "$regex": pattern } };
        find_page(
            &self.users,
            filter,
            doc! { "username_key": 1 },
            limit,
            offset,
        )
        .await
    }

    async fn begin_deletion(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        match self
            .set_user_field(id, doc! { "is_active": false, "deleting": true })
            .await
        {
            Ok(user) => Ok(Some(user)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn deletions_pending(&self) -> Result<Vec<UserRecord>, StoreError> {
        let docs: Vec<UserDoc> = self
            .users
            .find(doc! { "deleting": true })
            .await
            .map_err(StoreError::unavailable)?
            .try_collect::<Vec<UserDoc>>()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(docs.into_iter().map(UserRecord::from).collect())
    }

    async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
        let Some(oid) = parse_oid(id) else {
            return Ok(false);
        };
        // Sessions first: a crash in between leaves the account to delete again.
        self.sessions
            .delete_many(doc! { "user_id": id })
            .await
            .map_err(StoreError::unavailable)?;
        let done = self
            .users
            .delete_one(doc! { "_id": oid })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(done.deleted_count == 1)
    }
}

/// `s` as a regular expression that matches exactly `s`.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !c.is_alphanumeric() && c != '_' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[async_trait]
impl SessionRepo for MongoStore {
    async fn create_session(&self, s: SessionRecord) -> Result<(), StoreError> {
        let doc = SessionDoc {
            id: s.id,
            user_id: s.user_id,
            refresh_jti: s.refresh_jti,
            revoked: s.revoked,
            expires_at: to_bson_dt(s.expires_at),
        };
        self.sessions
            .insert_one(doc)
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let found = self
            .sessions
            .find_one(doc! { "_id": id })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(found.map(|d| SessionRecord {
            id: d.id,
            user_id: d.user_id,
            refresh_jti: d.refresh_jti,
            revoked: d.revoked,
            expires_at: from_bson_dt(d.expires_at),
        }))
    }

    async fn rotate_session(
        &self,
        id: &str,
        expected_jti: &str,
        new_jti: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .sessions
            .update_one(
                doc! { "_id": id, "refresh_jti": expected_jti, "revoked": false },
                doc! { "$set": { "refresh_jti": new_jti, "expires_at": to_bson_dt(expires_at) } },
            )
            .await
            .map_err(StoreError::unavailable)?;
        Ok(result.modified_count == 1)
    }

    async fn revoke_session(&self, id: &str) -> Result<(), StoreError> {
        self.sessions
            .update_one(doc! { "_id": id }, doc! { "$set": { "revoked": true } })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut filter = doc! { "user_id": user_id, "revoked": false };
        if let Some(keep) = except {
            filter.insert("_id", doc! { "$ne": keep });
        }
        self.sessions
            .update_many(filter, doc! { "$set": { "revoked": true } })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl TokenBlocklist for MongoStore {
    async fn block(&self, jti: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        let result = self
            .blocklist
            .insert_one(doc! { "_id": jti, "expires_at": to_bson_dt(expires_at) })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate(&e) => Ok(()),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    async fn is_blocked(&self, jti: &str) -> Result<bool, StoreError> {
        let found = self
            .blocklist
            .find_one(doc! { "_id": jti })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(found.is_some())
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        // The TTL index does this on real MongoDB; this keeps servers without TTL
        // monitors tidy too.
        let result = self
            .blocklist
            .delete_many(doc! { "expires_at": { "$lt": to_bson_dt(now) } })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(result.deleted_count)
    }
}
