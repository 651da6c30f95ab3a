//! RatingLedger: one rating per user per photo (enforced by the storage too, so
//! several API processes agree), never on one's own photo; moderators and admins list
//! and delete. The photo's running sums move in the same step as each rating.

use std::collections::HashMap;

use actix::prelude::*;

use super::social::notify;
use crate::auth::Caller;
use crate::domain::Stars;
use crate::store::social::NotificationKind;
use crate::store::{new_id, now_millis, RatingRecord, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RatingError {
    #[error("photo not found")]
    PhotoNotFound,
    #[error("rating not found")]
    NotFound,
    #[error("you cannot rate your own photo")]
    OwnPhoto,
    #[error("you have already rated this photo")]
    AlreadyRated,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the rating ledger is not running")]
    Mailbox(#[from] actix::MailboxError),
}

/// Rates a photo.
#[derive(Message)]
#[rtype(result = "Result<RatingRecord, RatingError>")]
pub struct Rate {
    pub photo_id: String,
    pub caller: Caller,
    pub stars: Stars,
}

/// A photo's ratings, oldest first, with the total.
#[derive(Message)]
#[rtype(result = "Result<(Vec<RatingRecord>, u64), RatingError>")]
pub struct ListRatings {
    pub photo_id: String,
    pub limit: u32,
    pub offset: u64,
}

/// A moderator or admin removes a rating.
#[derive(Message)]
#[rtype(result = "Result<(), RatingError>")]
pub struct DeleteRating {
    pub id: String,
}

/// The stars the caller gave each of these photos (their `my_rating`); photos
/// they did not rate are absent.
#[derive(Message)]
#[rtype(result = "Result<HashMap<String, u8>, RatingError>")]
pub struct StarsBy {
    pub user_id: String,
    pub photo_ids: Vec<String>,
}

#[derive(Clone)]
pub struct Ratings {
    store: Store,
}

impl Ratings {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    async fn rate(self, msg: Rate) -> Result<RatingRecord, RatingError> {
        let photo = self
            .store
            .photos
            .photo(&msg.photo_id)
            .await?
            .ok_or(RatingError::PhotoNotFound)?;
        if photo.owner_id == msg.caller.id {
            return Err(RatingError::OwnPhoto);
        }
        let rating = RatingRecord {
            id: new_id(),
            photo_id: msg.photo_id,
            user_id: msg.caller.id.clone(),
            username: msg.caller.username.clone(),
            stars: msg.stars.get(),
            created_at: now_millis(),
        };
        match self.store.ratings.add_rating(rating.clone()).await {
            Ok(()) => {
                let (kind, photo_id) = (NotificationKind::Rating, Some(photo.id));
                notify(&self.store, &photo.owner_id, kind, &msg.caller, photo_id).await;
                Ok(rating)
            }
            Err(StoreError::Conflict(_)) => Err(RatingError::AlreadyRated),
            Err(StoreError::NotFound) => Err(RatingError::PhotoNotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn list(self, msg: ListRatings) -> Result<(Vec<RatingRecord>, u64), RatingError> {
        if self.store.photos.photo(&msg.photo_id).await?.is_none() {
            return Err(RatingError::PhotoNotFound);
        }
        Ok(self
            .store
            .ratings
            .ratings(&msg.photo_id, msg.limit, msg.offset)
            .await?)
    }

    async fn stars_by(self, msg: StarsBy) -> Result<HashMap<String, u8>, RatingError> {
        Ok(self
            .store
            .ratings
            .stars_by(&msg.user_id, &msg.photo_ids)
            .await?)
    }

    async fn delete(self, msg: DeleteRating) -> Result<(), RatingError> {
        self.store
            .ratings
            .delete_rating(&msg.id)
            .await?
            .map(drop)
            .ok_or(RatingError::NotFound)
    }
}

service_actor! {
    /// Star ratings of photos.
    RatingLedger(Ratings) {
    Rate => rate,
    ListRatings => list,
    DeleteRating => delete,
    StarsBy => stars_by,
}
}

/// The typed handle the HTTP layer uses.
pub type RatingLedgerHandle = super::Handle<RatingLedger>;
