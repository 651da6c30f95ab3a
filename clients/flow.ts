// A client app's flow on the generated TypeScript types and openapi-fetch: sign up,
// log in, upload, the user's grid, comment, rate, a transformation with its image and
// QR code. Compiled with `tsc --strict`; run by clients/check.sh against a live server.
//
//   node generated/dist/flow.js http://127.0.0.1:8000 photo.png
import { readFileSync } from "node:fs";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Photo = components["schemas"]["Photo"];
type Link = components["schemas"]["Link"];
type Sort = NonNullable<NonNullable<paths["/api/photos"]["get"]["parameters"]["query"]>["sort"]>;

// Closed sets are enums: a typo does not compile.
// @ts-expect-error "newest" is not a sort
const typo: Sort = "newest";
void typo;

const [base, imagePath] = process.argv.slice(2);
if (!base || !imagePath) throw new Error("usage: flow.js BASE_URL IMAGE");

function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new Error(`flow: ${what}`);
}

const anonymous = createClient<paths>({ baseUrl: base });
const as = (token: string) =>
  createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${token}` } });

async function account(name: string) {
  const password = "correct horse battery";
  const signup = await anonymous.POST("/api/auth/signup", {
    body: { username: name, email: `${name}@example.com`, password },
  });
  check(signup.response.status === 201, `signup: ${signup.response.status}`);
  check(signup.response.headers.get("location") === `/api/users/${name}`, "signup Location");
  const login = await anonymous.POST("/api/auth/login", { body: { username: name, password } });
  check(login.data !== undefined, `login: ${login.response.status}`);
  check(login.data.token_type === "bearer", "token type");
  return as(login.data.access_token);
}

const run = Math.random().toString(36).slice(2, 10);
const ada = await account(`ada_${run}`);
const bob = await account(`bob_${run}`);

// Upload: multipart with the file as a Blob.
const file = new Blob([readFileSync(imagePath)], { type: "image/png" });
const upload = await ada.POST("/api/photos", {
  body: { file, description: "Harbour at dusk", tags: "sea,dusk" },
  bodySerializer(body) {
    const form = new FormData();
    form.append("file", body.file, "harbour.png");
    form.append("description", body.description ?? "");
    form.append("tags", body.tags ?? "");
    return form;
  },
});
check(upload.data !== undefined, `upload: ${upload.response.status}`);
const photo: Photo = upload.data;
check(upload.response.headers.get("location") === `/api/photos/${photo.id}`, "upload Location");
check(photo.format === "png" && photo.my_rating === null, "uploaded photo");

// The grid: page items are Photos.
const grid = await anonymous.GET("/api/users/{username}/photos", {
  params: { path: { username: photo.owner.username }, query: { sort: "-created_at", limit: 10 } },
});
check(grid.data !== undefined, `grid: ${grid.response.status}`);
const first: Photo | undefined = grid.data.items[0];
check(first?.id === photo.id && grid.data.total === 1, "grid holds the upload");

// Comment and rate as another user; my_rating shows the stars.
const comment = await bob.POST("/api/photos/{id}/comments", {
  params: { path: { id: photo.id } },
  body: { text: "Lovely light" },
});
check(comment.response.status === 201, `comment: ${comment.response.status}`);
const rating = await bob.POST("/api/photos/{id}/ratings", {
  params: { path: { id: photo.id } },
  body: { stars: 5 },
});
check(rating.response.status === 201, `rating: ${rating.response.status}`);
const seen = await bob.GET("/api/photos/{id}", { params: { path: { id: photo.id } } });
check(seen.data?.my_rating === 5 && seen.data.comment_count === 1, "bob's view");
const etag = seen.response.headers.get("etag");
check(etag !== null, "ETag");
const again = await bob.GET("/api/photos/{id}", {
  params: { path: { id: photo.id } },
  headers: { "If-None-Match": etag },
});
check(again.response.status === 304, `revalidation: ${again.response.status}`);

// A transformation: 202, then poll until the worker is done.
const created = await ada.POST("/api/photos/{id}/transformations", {
  params: { path: { id: photo.id } },
  body: { transformation: "c_fill,w_16,h_16/e_grayscale" },
});
check(created.response.status === 202 && created.data !== undefined, "transformation");
check(created.response.headers.get("retry-after") !== null, "Retry-After");
let link: Link = created.data;
for (let i = 0; i < 600 && link.status === "pending"; i++) {
  await new Promise((r) => setTimeout(r, 100));
  const polled = await anonymous.GET("/api/transformations/{id}", {
    params: { path: { id: link.id } },
  });
  check(polled.data !== undefined, `poll: ${polled.response.status}`);
  link = polled.data;
}
check(link.status === "done", `link ended ${link.status}: ${link.error ?? ""}`);
const image = await anonymous.GET("/t/{slug}", {
  params: { path: { slug: link.slug } },
  parseAs: "arrayBuffer",
});
check(image.data !== undefined && image.data.byteLength > 8, "transformed image");
const qr = await anonymous.GET("/t/{slug}/qr", {
  params: { path: { slug: link.slug }, query: { format: "svg" } },
  parseAs: "text",
});
check(qr.data?.includes("<svg") === true, "QR code as SVG");

console.log(`typescript flow ok: photo ${photo.id}, link ${link.slug}`);
