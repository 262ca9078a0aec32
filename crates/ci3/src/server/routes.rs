//! One request to its route: the path's refusals (400), credentials (401), the route's methods
//! (405 with `Allow`), then the route's handler; `/health` and `/` answered here.

use std::convert::Infallible;
use std::sync::Arc;

use http::{HeaderMap, Method};
use hyper::body::Incoming;

use super::paths::{self, Query, Route};
use super::reply::{self, Response};
use super::{artifacts, body, dashboard, kv, limits, lists, logs, parts, runs, Ctx};

/// The answer to a request; never an error (a failure is a status).
pub async fn handle(
    ctx: Arc<Ctx>,
    request: http::Request<Incoming>,
) -> Result<Response, Infallible> {
    let (parts, incoming) = request.into_parts();
    // A browser's pages (`/_/…`, and `/` or a log's `/ID` when its Accept prefers HTML); every
    // other request gets the API's answer, unchanged.
    if let Some(page) = dashboard::intercept(&ctx, &parts).await {
        return Ok(page);
    }
    let (route, query) = match admit(&ctx, &parts) {
        Ok(admitted) => admitted,
        // Refused before its body was read: what follows on the connection is no request.
        Err(refused) if announces_body(&parts.headers) => return Ok(reply::closing(*refused)),
        Err(refused) => return Ok(*refused),
    };
    Ok(dispatch(&ctx, &parts, route, query, incoming).await)
}

/// The route and query of a request that may go on, or the refusal: a bad path or query (400),
/// no credentials (401), a method the route does not take (405); `/health` answered here.
fn admit(ctx: &Ctx, parts: &http::request::Parts) -> Result<(Route, Query), Box<Response>> {
    let method = parts.method.as_str();
    let bad = |e: crate::Error| Box::new(reply::text(400, format!("{}\n", e.message())));
    let route = paths::parse(parts.uri.path()).map_err(bad)?;
    if route == Route::Health {
        return Err(Box::new(match method {
            "GET" | "HEAD" => health(ctx, method == "HEAD"),
            _ => not_allowed(route.allowed()),
        }));
    }
    if let Some(refused) = ctx.auth.refusal(parts) {
        return Err(Box::new(refused));
    }
    if !route.allowed().contains(&method) {
        return Err(Box::new(not_allowed(route.allowed())));
    }
    let query = Query::parse(parts.uri.query()).map_err(bad)?;
    Ok((route, query))
}

async fn dispatch(
    ctx: &Arc<Ctx>,
    parts: &http::request::Parts,
    route: Route,
    query: Query,
    incoming: Incoming,
) -> Response {
    let head = parts.method == Method::HEAD;
    let headers = &parts.headers;
    match (route, parts.method.clone()) {
        (Route::Root, _) => {
            let about = format!("ci3-server\n{}\n", ctx.identity);
            maybe_head(reply::text(200, about), head)
        }
        (Route::Log(id), Method::PUT) => logs::put(ctx, &id, &query, headers, incoming).await,
        (Route::Log(id), _) => logs::get(ctx, &id, head).await,
        (Route::Browse(id), _) => {
            let id = id.strip_suffix(".txt").unwrap_or(&id);
            logs::get(ctx, id, head).await
        }
        (Route::LogList(prefix), _) => logs::list(ctx, &prefix, head).await,
        (Route::Kv(key), Method::POST) if key == "mget" => kv::mget(ctx, headers, incoming).await,
        (Route::Kv(key), Method::PUT) => kv::put(ctx, &key, &query, headers, incoming).await,
        (Route::Kv(key), _) => kv::get(ctx, &key, head).await,
        (Route::List(name), Method::POST) => {
            lists::push(ctx, &name, &query, headers, incoming).await
        }
        (Route::List(name) | Route::ListBrowse(name), _) => lists::get(ctx, &name, head).await,
        (Route::Run { section, id }, Method::PUT) => {
            runs::put(ctx, &section, &id, &query, headers, incoming).await
        }
        (Route::Run { section, id }, _) => runs::get(ctx, &section, &id, head).await,
        (Route::Runs(section), _) => runs::section(ctx, &section, head).await,
        (Route::Artifact(name), Method::PUT) => {
            artifacts::put(ctx, name, headers, incoming, true).await
        }
        (Route::Artifact(name), _) if ctx.redirect_reads && !head => {
            artifacts::redirect(ctx, name).await
        }
        (Route::Artifact(name), _) => artifacts::get(ctx, name, head).await,
        (Route::Object(name), Method::POST) => {
            parts::post(ctx, name, &query, headers, incoming).await
        }
        (Route::Object(name), Method::PUT) if query.upload.is_some() => {
            parts::put(ctx, name, &query, headers, incoming).await
        }
        (Route::Object(name), Method::DELETE) if query.upload.is_some() => {
            parts::abort(ctx, name, &query).await
        }
        (Route::Object(name), Method::PUT) => {
            let kept = !name.starts_with(crate::store::names::RESERVED);
            artifacts::put(ctx, name, headers, incoming, kept).await
        }
        (Route::Object(name), Method::DELETE) => artifacts::delete(ctx, name).await,
        (Route::Object(name), _) => artifacts::get(ctx, name, head).await,
        (Route::Objects, _) => artifacts::list(ctx, &query, head).await,
        (Route::Event(_), _) => event(headers, incoming).await,
        (Route::Health | Route::Nothing, _) => reply::empty(404),
    }
}

/// `GET /health`: exactly `ci3-server` (probes compare it), what this server is, and that it
/// serves `/objects`.
fn health(ctx: &Ctx, head: bool) -> Response {
    let response = reply::text(200, "ci3-server");
    let response = reply::header(response, "x-ci3-server", &ctx.identity);
    maybe_head(reply::header(response, "x-ci3-features", "objects"), head)
}

/// `POST /events/CHANNEL`: accepted and dropped (upstream's token era posts them).
async fn event(headers: &HeaderMap, incoming: Incoming) -> Response {
    let announced = match body::announced(headers, limits::EVENT, true) {
        Ok(announced) => announced,
        Err(refused) => return *refused,
    };
    match body::discard(incoming, announced).await {
        true => reply::empty(204),
        false => body::incomplete(),
    }
}

fn not_allowed(allowed: &[&str]) -> Response {
    let response = reply::text(405, "method not allowed\n");
    reply::header(response, "allow", &allowed.join(", "))
}

fn maybe_head(response: Response, head: bool) -> Response {
    match head {
        true => reply::headers_only(response),
        false => response,
    }
}

/// Whether a request says a body follows.
fn announces_body(headers: &HeaderMap) -> bool {
    headers.contains_key(http::header::TRANSFER_ENCODING)
        || headers
            .get(http::header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}
