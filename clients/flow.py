"""A client app's flow on the openapi-python-client package: sign up, log in, upload,
the user's grid, comment, rate, a transformation with its image and QR code. Checked
with `mypy --strict`; run by clients/check.sh against a live server.

    python flow.py http://127.0.0.1:8000 photo.png
"""

import secrets
import sys
import time

from photoshare_client import AuthenticatedClient, Client
from photoshare_client.api.auth import login, signup
from photoshare_client.api.comments import add_comment
from photoshare_client.api.photos import get_photo, upload
from photoshare_client.api.public import link_image, link_qr
from photoshare_client.api.ratings import rate
from photoshare_client.api.transformations import create_link, get_link
from photoshare_client.api.users import user_photos
from photoshare_client.models import (
    CommentRequest,
    CreateLinkRequest,
    Link,
    LinkStatus,
    LoginRequest,
    PagePhoto,
    Photo,
    PhotoFormat,
    PhotoSort,
    QrFormat,
    RatingRequest,
    SignupRequest,
    Tokens,
    UploadForm,
)
from photoshare_client.types import File


def account(anonymous: Client, base: str, name: str) -> AuthenticatedClient:
    password = "correct horse battery"
    created = signup.sync_detailed(
        client=anonymous,
        body=SignupRequest(username=name, email=f"{name}@example.com", password=password),
    )
    assert created.status_code == 201, created.content
    assert created.headers["location"] == f"/api/users/{name}"
    tokens = login.sync(client=anonymous, body=LoginRequest(username=name, password=password))
    assert isinstance(tokens, Tokens), tokens
    return AuthenticatedClient(base_url=base, token=tokens.access_token)


def main(base: str, image: str) -> None:
    anonymous = Client(base_url=base)
    run = secrets.token_hex(4)
    ada = account(anonymous, base, f"ada_{run}")
    bob = account(anonymous, base, f"bob_{run}")

    with open(image, "rb") as f:
        form = UploadForm(
            file=File(payload=f, file_name="harbour.png", mime_type="image/png"),
            description="Harbour at dusk",
            tags="sea,dusk",
        )
        uploaded = upload.sync_detailed(client=ada, body=form)
    photo = uploaded.parsed
    assert isinstance(photo, Photo), uploaded.content
    assert uploaded.headers["location"] == f"/api/photos/{photo.id}"
    assert photo.format_ is PhotoFormat.PNG and photo.my_rating is None

    grid = user_photos.sync(
        photo.owner.username, client=anonymous, sort=PhotoSort.NEWEST_FIRST, limit=10
    )
    assert isinstance(grid, PagePhoto), grid
    assert [p.id for p in grid.items] == [photo.id] and isinstance(grid.items[0], Photo)

    comment = add_comment.sync_detailed(photo.id, client=bob, body=CommentRequest(text="Lovely"))
    assert comment.status_code == 201, comment.content
    rating = rate.sync_detailed(photo.id, client=bob, body=RatingRequest(stars=5))
    assert rating.status_code == 201, rating.content
    seen = get_photo.sync(photo.id, client=bob)
    assert isinstance(seen, Photo) and seen.my_rating == 5 and seen.comment_count == 1, seen

    created = create_link.sync_detailed(
        photo.id, client=ada, body=CreateLinkRequest(transformation="c_fill,w_16,h_16")
    )
    link = created.parsed
    assert created.status_code == 202 and isinstance(link, Link), created.content
    assert "retry-after" in created.headers
    for _ in range(600):
        if link.status is not LinkStatus.PENDING:
            break
        time.sleep(0.1)
        polled = get_link.sync(link.id, client=anonymous)
        assert isinstance(polled, Link), polled
        link = polled
    assert link.status is LinkStatus.DONE, link.error
    picture = link_image.sync_detailed(link.slug, client=anonymous)
    assert picture.status_code == 200 and len(picture.content) > 8
    qr = link_qr.sync_detailed(link.slug, client=anonymous, format_=QrFormat.SVG)
    assert qr.status_code == 200 and b"<svg" in qr.content
    print(f"python flow ok: photo {photo.id}, link {link.slug}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
