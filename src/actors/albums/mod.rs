//! AlbumBook: albums and their rules. A private album does not exist for anyone but
//! its owner and admins (404, not 403); the owner or an admin edits and deletes it;
//! only the owner puts photos in, takes them out and orders them, and only their own
//! photos; an album holds each photo once and at most `MAX_ALBUM_PHOTOS`. Every
//! change is a compare-and-swap on the album's version, retried on a conflict.
//! Share links are in `shares`.

mod shares;

use actix::prelude::*;

pub use shares::{CreateShare, ListShares, OpenShare, RevokeShare, ShareError};

use crate::auth::password::{HashError, Hasher};
use crate::auth::Caller;
use crate::domain::{
    AlbumRecord, AlbumTitle, Description, PhotoRecord, Role, Visibility, MAX_ALBUM_PHOTOS,
};
use crate::store::{new_id, now_millis, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AlbumError {
    #[error("album not found")]
    NotFound,
    #[error("user not found")]
    UserNotFound,
    #[error("only the album's owner or an admin may do this")]
    NotOwner,
    #[error("only your own photos go into your albums")]
    NotYourPhoto,
    #[error("{0}")]
    Invalid(&'static str, String),
    #[error("the album changed too often at once; try again")]
    Contended,
    #[error(transparent)]
    Hash(HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the album book is not running")]
    Mailbox(#[from] actix::MailboxError),
}

/// An album as the caller may see it, with the photos of the requested page and the
/// cover (each live: a photo deleted a moment ago is not shown).
#[derive(Debug)]
pub struct AlbumView {
    pub album: AlbumRecord,
    pub cover: Option<PhotoRecord>,
    /// `None` unless a page was asked for.
    pub page: Option<(Vec<PhotoRecord>, u32, u64)>,
}

#[derive(Message)]
#[rtype(result = "Result<AlbumView, AlbumError>")]
pub struct CreateAlbum {
    pub caller: Caller,
    pub title: AlbumTitle,
    pub description: Option<Description>,
}

#[derive(Message)]
#[rtype(result = "Result<AlbumView, AlbumError>")]
pub struct GetAlbum {
    pub id: String,
    pub caller: Option<Caller>,
    pub limit: u32,
    pub offset: u64,
}

/// What an edit changes; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct AlbumPatch {
    pub title: Option<AlbumTitle>,
    pub description: Option<Option<Description>>,
    pub visibility: Option<Visibility>,
    pub cover_photo_id: Option<Option<String>>,
}

#[derive(Message)]
#[rtype(result = "Result<AlbumView, AlbumError>")]
pub struct EditAlbum {
    pub id: String,
    pub caller: Caller,
    pub patch: AlbumPatch,
}

#[derive(Message)]
#[rtype(result = "Result<(), AlbumError>")]
pub struct DeleteAlbum {
    pub id: String,
    pub caller: Caller,
}

/// The owner's photo changes: add (kept once, at the end), remove, or reorder (a
/// permutation of the album).
#[derive(Debug)]
pub enum PhotoChange {
    Add(Vec<String>),
    Remove(String),
    Order(Vec<String>),
}

#[derive(Message)]
#[rtype(result = "Result<AlbumView, AlbumError>")]
pub struct ChangePhotos {
    pub id: String,
    pub caller: Caller,
    pub change: PhotoChange,
}

/// A user's albums, newest first: public ones, and private ones for the owner
/// and admins.
#[derive(Message)]
#[rtype(result = "Result<(Vec<AlbumView>, u64), AlbumError>")]
pub struct ListAlbums {
    pub username: String,
    pub caller: Option<Caller>,
    pub limit: u32,
    pub offset: u64,
}

#[derive(Clone)]
pub struct Albums {
    store: Store,
    /// Share links' passwords.
    hasher: Hasher,
}

fn sees(album: &AlbumRecord, caller: Option<&Caller>) -> bool {
    album.visibility == Visibility::Public
        || caller.is_some_and(|c| c.id == album.owner_id || c.role == Role::Admin)
}

impl Albums {
    pub fn new(store: Store, hasher: Hasher) -> Self {
        Self { store, hasher }
    }

    async fn load(&self, id: &str, caller: Option<&Caller>) -> Result<AlbumRecord, AlbumError> {
        let album = self
            .store
            .albums
            .album(id)
            .await?
            .filter(|a| sees(a, caller))
            .ok_or(AlbumError::NotFound)?;
        Ok(album)
    }

    async fn photo(&self, id: &str) -> Result<Option<PhotoRecord>, AlbumError> {
        Ok(self.store.photos.photo(id).await?)
    }

    async fn view(
        &self,
        album: AlbumRecord,
        page: Option<(u32, u64)>,
    ) -> Result<AlbumView, AlbumError> {
        let cover = match album.cover() {
            Some(id) => self.photo(id).await?,
            None => None,
        };
        let page = match page {
            Some((limit, offset)) => {
                let mut photos = Vec::new();
                let ids = album
                    .photo_ids
                    .iter()
                    .skip(offset as usize)
                    .take(limit as usize);
                for id in ids {
                    photos.extend(self.photo(id).await?);
                }
                Some((photos, limit, offset))
            }
            None => None,
        };
        Ok(AlbumView { album, cover, page })
    }

    /// Reads the album, lets `change` decide, and stores it if nobody changed it in
    /// between; else starts again from the newer album.
    async fn update(
        &self,
        id: &str,
        caller: &Caller,
        may: fn(&AlbumRecord, &Caller) -> bool,
        mut change: impl FnMut(&mut AlbumRecord) -> Result<(), AlbumError>,
    ) -> Result<AlbumRecord, AlbumError> {
        for _ in 0..16 {
            let album = self.load(id, Some(caller)).await?;
            if !may(&album, caller) {
                return Err(AlbumError::NotOwner);
            }
            let expected = album.version;
            let mut new = album;
            change(&mut new)?;
            new.version = expected + 1;
            new.updated_at = now_millis();
            if self
                .store
                .albums
                .replace_album(new.clone(), expected)
                .await?
            {
                return Ok(new);
            }
        }
        Err(AlbumError::Contended)
    }

    async fn create(self, msg: CreateAlbum) -> Result<AlbumView, AlbumError> {
        let now = now_millis();
        let album = AlbumRecord {
            id: new_id(),
            owner_id: msg.caller.id,
            owner_username: msg.caller.username,
            title: msg.title.into_inner(),
            description: msg.description.map(Description::into_inner),
            visibility: Visibility::Private,
            cover_photo_id: None,
            photo_ids: Vec::new(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        self.store.albums.create_album(album.clone()).await?;
        self.view(album, None).await
    }

    async fn get(self, msg: GetAlbum) -> Result<AlbumView, AlbumError> {
        let album = self.load(&msg.id, msg.caller.as_ref()).await?;
        self.view(album, Some((msg.limit, msg.offset))).await
    }

    async fn edit(self, msg: EditAlbum) -> Result<AlbumView, AlbumError> {
        let owner_or_admin =
            |a: &AlbumRecord, c: &Caller| c.id == a.owner_id || c.role == Role::Admin;
        let AlbumPatch {
            title,
            description,
            visibility,
            cover_photo_id,
        } = msg.patch;
        let album = self
            .update(&msg.id, &msg.caller, owner_or_admin, |a| {
                if let Some(Some(cover)) = &cover_photo_id {
                    if !a.photo_ids.contains(cover) {
                        let why = "is not a photo of this album".to_owned();
                        return Err(AlbumError::Invalid("cover_photo_id", why));
                    }
                }
                if let Some(t) = &title {
                    a.title = t.clone().into_inner();
                }
                if let Some(d) = &description {
                    a.description = d.clone().map(Description::into_inner);
                }
                if let Some(v) = visibility {
                    a.visibility = v;
                }
                if let Some(c) = &cover_photo_id {
                    a.cover_photo_id = c.clone();
                }
                Ok(())
            })
            .await?;
        self.view(album, Some((20, 0))).await
    }

    async fn delete(self, msg: DeleteAlbum) -> Result<(), AlbumError> {
        let album = self.load(&msg.id, Some(&msg.caller)).await?;
        if album.owner_id != msg.caller.id && msg.caller.role != Role::Admin {
            return Err(AlbumError::NotOwner);
        }
        self.store.albums.delete_album(&msg.id).await?;
        Ok(())
    }

    async fn change(self, msg: ChangePhotos) -> Result<AlbumView, AlbumError> {
        let owner = |a: &AlbumRecord, c: &Caller| c.id == a.owner_id;
        if let PhotoChange::Add(ids) = &msg.change {
            for id in ids {
                let photo = self.photo(id).await?;
                if photo.is_none_or(|p| p.owner_id != msg.caller.id) {
                    return Err(AlbumError::NotYourPhoto);
                }
            }
        }
        let album = self
            .update(&msg.id, &msg.caller, owner, |a| match &msg.change {
                PhotoChange::Add(ids) => {
                    for id in ids {
                        if !a.photo_ids.contains(id) {
                            a.photo_ids.push(id.clone());
                        }
                    }
                    if a.photo_ids.len() > MAX_ALBUM_PHOTOS {
                        let why = format!("an album holds at most {MAX_ALBUM_PHOTOS} photos");
                        return Err(AlbumError::Invalid("photo_ids", why));
                    }
                    Ok(())
                }
                PhotoChange::Remove(id) => {
                    if !a.photo_ids.contains(id) {
                        return Err(AlbumError::NotFound);
                    }
                    a.photo_ids.retain(|p| p != id);
                    Ok(())
                }
                PhotoChange::Order(ids) => {
                    let mut want = ids.clone();
                    let mut have = a.photo_ids.clone();
                    want.sort();
                    have.sort();
                    if want != have {
                        let why = "must list every photo of the album exactly once".to_owned();
                        return Err(AlbumError::Invalid("photo_ids", why));
                    }
                    a.photo_ids = ids.clone();
                    Ok(())
                }
            })
            .await?;
        self.view(album, Some((20, 0))).await
    }

    async fn list(self, msg: ListAlbums) -> Result<(Vec<AlbumView>, u64), AlbumError> {
        let user = self
            .store
            .users
            .by_username(&msg.username.to_lowercase())
            .await?
            .ok_or(AlbumError::UserNotFound)?;
        let with_private = msg
            .caller
            .as_ref()
            .is_some_and(|c| c.id == user.id || c.role == Role::Admin);
        let (albums, total) = self
            .store
            .albums
            .albums_of(&user.id, with_private, msg.limit, msg.offset)
            .await?;
        let mut views = Vec::with_capacity(albums.len());
        for album in albums {
            views.push(self.view(album, None).await?);
        }
        Ok((views, total))
    }
}

service_actor! {
    /// Albums.
    AlbumBook(Albums) {
    CreateAlbum => create,
    GetAlbum => get,
    EditAlbum => edit,
    DeleteAlbum => delete,
    ChangePhotos => change,
    ListAlbums => list,
    CreateShare => create_share,
    ListShares => list_shares,
    RevokeShare => revoke_share,
    OpenShare => open_share,
}
}

/// The typed handle the HTTP layer uses.
pub type AlbumBookHandle = super::Handle<AlbumBook>;
