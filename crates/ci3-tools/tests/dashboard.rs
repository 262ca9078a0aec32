//! The dashboard in a real browser (issue 21): a headless Chromium loads each page from a
//! `ci3_server` (behind a password) filled only by the tools a CI runs against it: two
//! `task_run`s, a test pipeline of `run_test_cmd`s in CI (a passing, a flaky and a failing test:
//! live logs, the history and failed-tests lists, `FLAKED`), the jobs' logs kept by `cache_log`
//! (one still being written) and their records put by `ci3_client run_put`, and a build's
//! `cache_upload` and `cache_download` (the cache page's ledger lines). The tests read the
//! rendered DOM and save a screenshot of each page under
//! `target/tmp/dashboard/`.

mod common;
mod dashboard_cdp;

use std::path::PathBuf;

use common::server::{dir_store, Server};
use dashboard_cdp::fill::{Site, FAILING, FLAKY, OK};
use dashboard_cdp::Browser;
use serde_json::json;

/// What a browser sends as `Accept` for a page.
const BROWSER_ACCEPT: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

/// Where the screenshots go; printed, so a person finds them.
fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    std::fs::create_dir_all(&dir).unwrap();
    eprintln!("screenshots in {}", dir.display());
    dir
}

/// A browser that has given the site's credentials.
fn browser(site: &Site, width: u32, height: u32) -> Browser {
    let mut b = Browser::start(width, height);
    b.authorize(&site.authorization());
    b
}

fn url(server: &Server, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", server.port)
}

fn count(browser: &mut Browser, selector: &str) -> u64 {
    let expression = format!("document.querySelectorAll({selector:?}).length");
    browser.eval(&expression).as_u64().unwrap()
}

fn text(browser: &mut Browser, selector: &str) -> String {
    let expression = format!(
        "Array.from(document.querySelectorAll({selector:?})).map(function(e){{return e.textContent}}).join('|')"
    );
    browser.eval(&expression).as_str().unwrap().to_string()
}

#[test]
fn the_runs_registry_and_a_run_page_with_its_log() {
    let site = Site::start();
    let pipeline = site.pipeline(|_| {});
    let ci = site.ci_runs(&format!("Building...\n{}", pipeline.output));
    let shots = shots();
    let mut b = browser(&site, 1280, 800);
    b.open(&url(&site.server, "/"));
    // Newest first: the running deploy above the finished build.
    let rows = text(&mut b, "table[data-section=next] tr.run td:nth-child(1)");
    assert_eq!(rows, "RUNNING|FAILED");
    let names = text(&mut b, "table[data-section=next] tr.run td:nth-child(2)");
    assert_eq!(
        names,
        "<script>document.title='pwned'</script>deploy|next build"
    );
    assert_eq!(text(&mut b, "tr.run td:nth-child(3)"), "Bob|Ann");
    assert_eq!(text(&mut b, "tr.run td:nth-child(5)"), "…|5m00s");
    // The record's markup is text: no script, no bold element, the title untouched.
    assert_eq!(count(&mut b, "main script, main b"), 0);
    assert_eq!(b.eval("document.title"), json!("CI runs · ci3"));
    b.screenshot(&shots.join("registry.png"));

    b.eval("document.querySelector('tr.run:last-child a').click()");
    b.event("Page.loadEventFired");
    let path = b.eval("location.pathname");
    assert_eq!(path, json!(format!("/_/run/next/{}", ci.ids[0])));
    b.wait_for("document.querySelector('#log').getAttribute('data-polls')");
    let log = text(&mut b, "#log");
    assert!(log.starts_with("Building...\n"), "{log}");
    assert!(log.contains(&format!("FLAKED: {FLAKY} (")), "{log}");
    // The tests the job's output reports, in its order; the one seen running links to its log.
    let statuses = text(&mut b, "table.tests td:nth-child(1)");
    assert_eq!(
        statuses,
        "PASSED|PASSED|PASSED|FLAKED|RUNNING|FAILED|FAILED"
    );
    let commands = text(&mut b, "table.tests td:nth-child(2)");
    assert_eq!(
        commands,
        [OK, FLAKY, FLAKY, FLAKY, FAILING, FAILING, FAILING].join("|")
    );
    let links = b.eval(
        "Array.from(document.querySelectorAll('table.tests a')).map(function(a){return a.getAttribute('href')}).join(' ')",
    );
    assert_eq!(links, json!(format!("/{}", pipeline.failing_log)));
    b.screenshot(&shots.join("run.png"));
    b.eval("document.querySelector('table.tests a').click()");
    b.event("Page.loadEventFired");
    b.wait_for("document.querySelector('#log').getAttribute('data-polls')");
    assert_eq!(text(&mut b, "#log"), "e2e: assertion failed\n");
    let red = b.eval("document.querySelector('#log span').style.color");
    assert_eq!(red, json!("rgb(229, 57, 53)"));
}

#[test]
fn a_running_jobs_log_grows_on_its_run_page() {
    let site = Site::start();
    let mut ci = site.ci_runs("Building...\n");
    // A page shows a log once there is one: `cache_log`'s first write.
    site.until_log_holds(&ci.logs[1], "deploy step 1");
    let mut b = browser(&site, 1280, 600);
    b.open(&url(&site.server, &format!("/_/run/next/{}", ci.ids[1])));
    assert_eq!(text(&mut b, "#log"), "deploy step 1\n");
    // The page has polled the log once; the job writes more, which `cache_log` re-sends.
    b.wait_for("document.querySelector('#log').getAttribute('data-polls')");
    ci.write("\x1b[31mdeploy step 2\x1b[0m still going\n");
    b.wait_for("document.querySelector('#log').textContent.indexOf('deploy step 2') >= 0");
    assert_eq!(
        text(&mut b, "#log"),
        "deploy step 1\ndeploy step 2 still going\n"
    );
    let colour = b.eval("document.querySelector('#log span').style.color");
    assert_eq!(colour, json!("rgb(229, 57, 53)"));
    b.screenshot(&shots().join("run-live.png"));
    // And the log's own page, while it is still being written.
    b.open(&url(&site.server, &format!("/{}", ci.logs[1])));
    assert_eq!(
        text(&mut b, "#log"),
        "deploy step 1\ndeploy step 2 still going\n"
    );
    b.screenshot(&shots().join("log.png"));
}

#[test]
fn tests_page_shows_the_feed_the_flake_marks_and_each_history() {
    let site = Site::start();
    let shots = shots();
    let mut b = browser(&site, 1280, 900);
    // While the failing test still runs, its log is on the server and has a page.
    let pipeline = site.pipeline(|id| {
        b.open(&url(&site.server, &format!("/{id}")));
        assert_eq!(text(&mut b, "#log"), "e2e: assertion failed\n");
        b.screenshot(&shots.join("test-log-running.png"));
    });
    b.open(&url(&site.server, "/_/tests"));
    let tests = text(&mut b, "table.flaky tr.test td:first-child");
    assert_eq!(tests, format!("{FAILING}|{FLAKY}"));
    // Flakes in the last runs: 0 for the failing test, 1 for the flaky one.
    assert_eq!(text(&mut b, "table.flaky td.flakes"), "0|1");
    assert_eq!(
        count(&mut b, "table.flaky tr.test:nth-child(3) rect.mark"),
        3
    );
    assert_eq!(count(&mut b, "table.flaky rect.mark.flaked"), 1);
    assert_eq!(count(&mut b, "table.flaky rect.mark.failed"), 2);
    // Oldest left: passed twice, then flaked.
    let titles = b.eval(
        "Array.from(document.querySelectorAll('table.flaky tr.test:nth-child(3) rect.mark title')).map(function(t){return t.textContent.split(' ')[0]}).join('|')",
    );
    assert_eq!(titles, json!("PASSED|PASSED|FLAKED"));
    assert_eq!(
        text(&mut b, "table.feed tr.line td:nth-child(2)"),
        "FAILED|FAILED|FLAKED"
    );
    assert_eq!(
        text(&mut b, "table.feed tr.line td:nth-child(5)"),
        "Ann|Ann|Ann"
    );
    b.screenshot(&shots.join("tests.png"));
    // The older failure is the run watched above: its line links to the log written live.
    let href =
        b.eval("document.querySelector('table.feed tr.line:nth-child(3) a').getAttribute('href')");
    assert_eq!(href, json!(format!("/{}", pipeline.failing_log)));
    b.eval("document.querySelector('table.flaky tr.test:nth-child(3) a').click()");
    b.event("Page.loadEventFired");
    assert_eq!(text(&mut b, "span.flakes"), "1");
    assert_eq!(count(&mut b, "table.feed tr.line"), 3);
    b.screenshot(&shots.join("test.png"));
}

#[test]
fn tasks_page_shows_statuses_runs_inputs_outputs_and_a_diff() {
    let site = Site::start();
    let (_fixture, runs) = site.task_runs();
    // Kept in the server's store, which the pages read.
    let records = std::fs::read_dir(site.store().join(".ci3/runs/id")).unwrap();
    assert_eq!(records.count(), 2);
    let shots = shots();
    let mut b = browser(&site, 1280, 800);
    b.open(&url(&site.server, "/_/tasks"));
    assert_eq!(text(&mut b, "tr.task td:first-child"), "calc.build");
    assert_eq!(text(&mut b, "tr.task td.status"), "Exist");
    assert_eq!(count(&mut b, "tr.task svg.chart rect"), 2);
    b.screenshot(&shots.join("tasks.png"));

    b.open(&url(&site.server, "/_/task/calc.build"));
    let ids = text(&mut b, "tr.taskrun td:first-child");
    assert_eq!(ids, runs.join("|"));
    b.eval("document.querySelector('tr.taskrun a[href^=\"/_/taskdiff\"]').click()");
    b.event("Page.loadEventFired");
    assert_eq!(text(&mut b, "tr.difference td:nth-child(1)"), "D");
    assert_eq!(text(&mut b, "tr.difference td:nth-child(2)"), "calc/in.txt");
    b.screenshot(&shots.join("taskdiff.png"));

    b.open(&url(&site.server, &format!("/_/taskrun/{}", runs[0])));
    assert!(text(&mut b, "table.inputs").contains("calc/in.txt"));
    assert!(text(&mut b, "table.outputs").contains("out/x"));
}

#[test]
fn cache_page_adds_up_the_ledger_lines_the_tools_put_into_the_store() {
    // A build through the server: an upload, then a hit from it, each putting its ledger line
    // into the server's store.
    let site = Site::start();
    site.build();
    let server = &site.server;

    let shots = shots();
    let mut b = browser(&site, 1280, 600);
    b.open(&url(server, "/_/cache"));
    assert_eq!(count(&mut b, "tr.day"), 1);
    // One download, a hit from the store; one upload.
    assert_eq!(text(&mut b, "tr.day td:nth-child(2)"), "1");
    assert_eq!(text(&mut b, "tr.day td.rate"), "100%");
    assert_eq!(text(&mut b, "tr.day td:nth-child(4)"), "1");
    let moved = text(&mut b, "tr.day td:nth-child(5)");
    assert!(moved.ends_with(" B") && moved != "0 B", "{moved}");
    b.screenshot(&shots.join("cache.png"));
}

#[test]
fn a_log_with_markup_is_shown_as_text_and_api_answers_stay_plain() {
    let site = Site::start();
    let evil = "\x1b[1;31m<script>document.title='pwned'</script>\x1b[0m\n<img src=x onerror=\"document.title='img'\">\n";
    site.log("evil", evil.as_bytes());
    let mut b = browser(&site, 1024, 400);
    b.open(&url(&site.server, "/evil"));
    b.wait_for("document.querySelector('#log').getAttribute('data-polls')");
    assert_eq!(count(&mut b, "#log script, #log img"), 0);
    assert_eq!(b.eval("document.title"), json!("Log evil · ci3"));
    assert_eq!(
        text(&mut b, "#log"),
        "<script>document.title='pwned'</script>\n<img src=x onerror=\"document.title='img'\">\n"
    );
    assert!(b.dom().contains("&lt;script&gt;document.title"));
    let bold = b.eval("document.querySelector('#log span').style.fontWeight");
    assert_eq!(bold, json!("bold"));
    b.screenshot(&shots().join("log-markup.png"));

    // Clients that do not prefer HTML get the API's answers, byte for byte.
    let auth = site.authorization();
    let server = &site.server;
    for accept in [None, Some("*/*"), Some("text/plain, text/html;q=0.5")] {
        let mut headers = vec![("Authorization", auth.as_str())];
        headers.extend(accept.map(|a| ("Accept", a)));
        let log = server.ask("GET", "/evil", &headers, None);
        assert_eq!(log.status, 200);
        assert_eq!(
            log.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(log.body, evil.as_bytes());
        let root = server.ask("GET", "/", &headers, None);
        assert!(root.text().starts_with("ci3-server\n"), "{}", root.text());
    }
    let browsing = [("Accept", BROWSER_ACCEPT), ("Authorization", auth.as_str())];
    let api = server.ask("GET", "/logs/evil", &browsing, None);
    assert_eq!(api.body, evil.as_bytes());
    let page = server.ask("GET", "/evil", &browsing, None);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let missing = server.ask("GET", "/nothing-here", &browsing, None);
    assert_eq!(missing.status, 404);
    // No page writes: a form's POST to a page is the API's refusal, never a write.
    let posted = server.ask("POST", "/_/tests", &browsing, Some(b"x=1"));
    assert_eq!(
        (posted.status, posted.header("allow")),
        (405, Some("GET, HEAD"))
    );
    // And a page is a browser's: others asking for `/_/tests` get the API's answer (no log).
    let plain = server.ask("GET", "/_/tests", &browsing[1..], None);
    assert_eq!(
        (plain.status, plain.text().as_str()),
        (404, "Log not found: _/tests\n")
    );
}

#[test]
fn an_unauthenticated_browser_gets_the_basic_prompt() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("password"), "s3cret\n").unwrap();
    let password = dir.path().join("password").display().to_string();
    let server = Server::run(
        &dir_store(&dir.path().join("store")),
        &dir.path().join("xdg"),
        &["--password-file", &password],
    );
    for path in ["/", "/_/tests", "/_/cache", "/some-log"] {
        let refused = server.ask("GET", path, &[("Accept", BROWSER_ACCEPT)], None);
        assert_eq!(refused.status, 401, "{path}");
        assert_eq!(
            refused.header("www-authenticate"),
            Some("Basic realm=\"ci3\"")
        );
    }
    let mut b = Browser::start(1024, 400);
    b.call(
        "Fetch.enable",
        json!({"handleAuthRequests": true, "patterns": [{"urlPattern": "*"}]}),
    );
    // Navigating answers once the response is in, which the paused request holds back.
    let navigating = b.send_page("Page.navigate", json!({"url": url(&server, "/_/tests")}));
    let paused = b.event("Fetch.requestPaused");
    b.call(
        "Fetch.continueRequest",
        json!({"requestId": paused["requestId"]}),
    );
    let asked = b.event("Fetch.authRequired");
    assert_eq!(asked["authChallenge"]["scheme"], json!("basic"));
    assert_eq!(asked["authChallenge"]["realm"], json!("ci3"));
    b.call(
        "Fetch.continueWithAuth",
        json!({"requestId": asked["requestId"], "authChallengeResponse":
            {"response": "ProvideCredentials", "username": "aztec", "password": "s3cret"}}),
    );
    b.wait_answer(navigating);
    b.event("Page.loadEventFired");
    assert_eq!(text(&mut b, "h1"), "Tests");
}
