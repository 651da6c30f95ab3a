//! Share links: an album's owner hands out a token (192 random bits, stored only as
//! its SHA-256) that shows the album to whoever holds it, private or not, until it
//! expires or is revoked; with a password (argon2id, like an account's) the holder
//! must also know it. The HTTP layer limits wrong passwords per link.

use actix::prelude::*;
use chrono::{DateTime, Utc};

use super::{AlbumError, AlbumView, Albums};
use crate::auth::Caller;
use crate::domain::{Password, ShareRecord};
use crate::ids::share_token;
use crate::store::{new_id, now_millis};

/// A new share link; the token is in the answer once and nowhere else.
#[derive(Message)]
#[rtype(result = "Result<(ShareRecord, String), AlbumError>")]
pub struct CreateShare {
    pub album_id: String,
    pub caller: Caller,
    pub expires_at: Option<DateTime<Utc>>,
    pub password: Option<Password>,
}

/// An album's live share links, newest first.
#[derive(Message)]
#[rtype(result = "Result<(Vec<ShareRecord>, u64), AlbumError>")]
pub struct ListShares {
    pub album_id: String,
    pub caller: Caller,
    pub limit: u32,
    pub offset: u64,
}

#[derive(Message)]
#[rtype(result = "Result<(), AlbumError>")]
pub struct RevokeShare {
    pub id: String,
    pub caller: Caller,
}

/// What a share link shows: its album with a page of photos.
#[derive(Message)]
#[rtype(result = "Result<(ShareRecord, AlbumView), ShareError>")]
pub struct OpenShare {
    pub token: String,
    pub password: Option<String>,
    pub limit: u32,
    pub offset: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    #[error("share link not found")]
    NotFound,
    #[error("this share link has expired or was revoked")]
    Gone,
    #[error("this share link needs its password")]
    PasswordRequired,
    #[error("wrong password for this share link")]
    WrongPassword,
    #[error(transparent)]
    Album(#[from] AlbumError),
}

impl Albums {
    /// The album, if `caller` owns it (404 when they may not see it, 403 when they
    /// see it but it is not theirs).
    async fn owned_album(&self, id: &str, caller: &Caller) -> Result<(), AlbumError> {
        let album = self.load(id, Some(caller)).await?;
        if album.owner_id != caller.id {
            return Err(AlbumError::NotOwner);
        }
        Ok(())
    }

    pub(super) async fn create_share(
        self,
        msg: CreateShare,
    ) -> Result<(ShareRecord, String), AlbumError> {
        self.owned_album(&msg.album_id, &msg.caller).await?;
        let now = now_millis();
        if msg.expires_at.is_some_and(|e| e <= now) {
            let why = "must be in the future".to_owned();
            return Err(AlbumError::Invalid("expires_at", why));
        }
        let password_hash = match msg.password {
            Some(p) => Some(self.hasher.hash(p).await.map_err(AlbumError::Hash)?),
            None => None,
        };
        let token = share_token();
        let share = ShareRecord {
            id: new_id(),
            album_id: msg.album_id,
            owner_id: msg.caller.id,
            token_hash: ShareRecord::hash_token(&token),
            password_hash,
            expires_at: msg.expires_at,
            revoked_at: None,
            created_at: now,
        };
        self.store.albums.create_share(share.clone()).await?;
        Ok((share, token))
    }

    pub(super) async fn list_shares(
        self,
        msg: ListShares,
    ) -> Result<(Vec<ShareRecord>, u64), AlbumError> {
        self.owned_album(&msg.album_id, &msg.caller).await?;
        let albums = &self.store.albums;
        Ok(albums
            .shares_of(&msg.album_id, msg.limit, msg.offset)
            .await?)
    }

    pub(super) async fn revoke_share(self, msg: RevokeShare) -> Result<(), AlbumError> {
        let share = self.store.albums.share(&msg.id).await?;
        let share = share
            .filter(|s| s.revoked_at.is_none())
            .ok_or(AlbumError::NotFound)?;
        if share.owner_id != msg.caller.id {
            return Err(AlbumError::NotOwner);
        }
        self.store
            .albums
            .revoke_share(&share.id, now_millis())
            .await?;
        Ok(())
    }

    pub(super) async fn open_share(
        self,
        msg: OpenShare,
    ) -> Result<(ShareRecord, AlbumView), ShareError> {
        let hash = ShareRecord::hash_token(&msg.token);
        let share = self.store.albums.share_by_token(&hash).await;
        let share = share
            .map_err(AlbumError::from)?
            .ok_or(ShareError::NotFound)?;
        if share.is_gone(now_millis()) {
            return Err(ShareError::Gone);
        }
        if let Some(hash) = &share.password_hash {
            let given = msg.password.ok_or(ShareError::PasswordRequired)?;
            let ok = self.hasher.verify(given, Some(hash.clone())).await;
            if !ok.map_err(AlbumError::Hash)? {
                return Err(ShareError::WrongPassword);
            }
        }
        let album = self.store.albums.album(&share.album_id).await;
        let album = album
            .map_err(AlbumError::from)?
            .ok_or(ShareError::NotFound)?;
        let view = self.view(album, Some((msg.limit, msg.offset))).await?;
        Ok((share, view))
    }
}

impl From<actix::MailboxError> for ShareError {
    fn from(e: actix::MailboxError) -> Self {
        ShareError::Album(AlbumError::Mailbox(e))
    }
}
