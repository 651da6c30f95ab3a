//! CommentBoard: comments on photos. The author edits (nobody else, not even an
//! admin); moderators and admins delete (the route guard checks the role).

use actix::prelude::*;

use super::social::notify;
use crate::auth::Caller;
use crate::domain::CommentText;
use crate::store::social::NotificationKind;
use crate::store::{new_id, now_millis, CommentRecord, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CommentError {
    #[error("photo not found")]
    PhotoNotFound,
    #[error("comment not found")]
    NotFound,
    #[error("only the author may edit a comment")]
    NotAuthor,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the comment board is not running")]
    Mailbox(#[from] actix::MailboxError),
}

/// Adds a comment to a photo.
#[derive(Message)]
#[rtype(result = "Result<CommentRecord, CommentError>")]
pub struct AddComment {
    pub photo_id: String,
    pub author: Caller,
    pub text: CommentText,
}

/// A photo's comments, oldest first, with the total.
#[derive(Message)]
#[rtype(result = "Result<(Vec<CommentRecord>, u64), CommentError>")]
pub struct ListComments {
    pub photo_id: String,
    pub limit: u32,
    pub offset: u64,
}

/// The author changes the text.
#[derive(Message)]
#[rtype(result = "Result<CommentRecord, CommentError>")]
pub struct EditComment {
    pub id: String,
    pub caller: Caller,
    pub text: CommentText,
}

/// A moderator or admin removes a comment.
#[derive(Message)]
#[rtype(result = "Result<(), CommentError>")]
pub struct DeleteComment {
    pub id: String,
}

/// How many comments a user has written.
#[derive(Message)]
#[rtype(result = "Result<u64, CommentError>")]
pub struct CommentCount {
    pub author_id: String,
}

#[derive(Clone)]
pub struct Comments {
    store: Store,
}

impl Comments {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    async fn add(self, msg: AddComment) -> Result<CommentRecord, CommentError> {
        let now = now_millis();
        let comment = CommentRecord {
            id: new_id(),
            photo_id: msg.photo_id,
            author_id: msg.author.id.clone(),
            author_username: msg.author.username.clone(),
            text: msg.text.into_inner(),
            created_at: now,
            updated_at: now,
        };
        match self.store.comments.add_comment(comment.clone()).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(CommentError::PhotoNotFound),
            Err(e) => return Err(e.into()),
        }
        // The photo's owner hears of it (not when they comment themself).
        if let Ok(Some(photo)) = self.store.photos.photo(&comment.photo_id).await {
            let (kind, photo_id) = (NotificationKind::Comment, Some(photo.id));
            notify(&self.store, &photo.owner_id, kind, &msg.author, photo_id).await;
        }
        Ok(comment)
    }

    async fn list(self, msg: ListComments) -> Result<(Vec<CommentRecord>, u64), CommentError> {
        if self.store.photos.photo(&msg.photo_id).await?.is_none() {
            return Err(CommentError::PhotoNotFound);
        }
        Ok(self
            .store
            .comments
            .comments(&msg.photo_id, msg.limit, msg.offset)
            .await?)
    }

    async fn edit(self, msg: EditComment) -> Result<CommentRecord, CommentError> {
        let comment = self
            .store
            .comments
            .comment(&msg.id)
            .await?
            .ok_or(CommentError::NotFound)?;
        if comment.author_id != msg.caller.id {
            return Err(CommentError::NotAuthor);
        }
        match self
            .store
            .comments
            .edit_comment(&msg.id, msg.text.into_inner(), now_millis())
            .await
        {
            Err(StoreError::NotFound) => Err(CommentError::NotFound),
            other => Ok(other?),
        }
    }

    async fn delete(self, msg: DeleteComment) -> Result<(), CommentError> {
        self.store
            .comments
            .delete_comment(&msg.id)
            .await?
            .map(drop)
            .ok_or(CommentError::NotFound)
    }

    /// Moderation: deletes a reported comment; one that is gone already is as good
    /// as removed.
    pub async fn remove(&self, id: &str) -> Result<(), CommentError> {
        self.store.comments.delete_comment(id).await.map(drop)?;
        Ok(())
    }

    async fn count(self, msg: CommentCount) -> Result<u64, CommentError> {
        Ok(self.store.comments.comment_count_by(&msg.author_id).await?)
    }
}

service_actor! {
    /// Comments on photos.
    CommentBoard(Comments) {
    AddComment => add,
    ListComments => list,
    EditComment => edit,
    DeleteComment => delete,
    CommentCount => count,
}
}

/// The typed handle the HTTP layer uses.
pub type CommentBoardHandle = super::Handle<CommentBoard>;
