//! The dashboard in a real browser (issue 21): a headless Chromium loads each page from a
//! `ci3_server` whose store was filled by real tool runs (two `task_run`s; a `cache_upload` and
//! a `cache_download` putting their ledger lines into a shared S3 store) and through the HTTP API
//! as upstream's client fills it (CI run records, logs, the failed-tests and history lists of a
//! pipeline with a flaky and a failing test). The tests read the rendered DOM and save a
//! screenshot of each page under `target/tmp/dashboard/`.

mod common;
mod dashboard_cdp;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use common::cache::{s3_prefix, Env, Where};
use common::server::{basic, dir_store, Server};
use common::tasks::{self, Fixture};
use dashboard_cdp::Browser;
use serde_json::json;

/// What a browser sends as `Accept` for a page.
const BROWSER_ACCEPT: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

const FLAKY: &str = "./scripts/flaky.sh unit";
const FAILING: &str = "./scripts/broken.sh e2e";

/// Where the screenshots go; printed, so a person finds them.
fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    std::fs::create_dir_all(&dir).unwrap();
    eprintln!("screenshots in {}", dir.display());
    dir
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A store filled by tools and by the API, and a server over it.
struct Filled {
    fixture: Fixture,
    server: Server,
    _xdg: tempfile::TempDir,
    /// The CI runs' ids: the finished one, the running one.
    runs: [u64; 2],
    /// The task runs, oldest first.
    task_runs: Vec<String>,
}

fn ok(answer: common::server::Answer, what: &str) {
    assert!(
        answer.status == 204 || answer.status == 200,
        "{what}: {} {}",
        answer.status,
        answer.text()
    );
}

/// A test line as `run_test_cmd` lists it, colours and all.
fn line(status: &str, colour: u8, log: &str, cmd: &str, secs: u32, tail: &str) -> String {
    format!(
        "05-14 10:{secs:02}:00: \x1b[{colour}m{status}\x1b[0m (http://ci.example/{log}): {cmd} \
         ({secs}s){tail} (\x1b[35mAnn\x1b[0m: fix the thing)"
    )
}

fn filled(server_args: &[&str]) -> Filled {
    let f = tasks::calc();
    assert_eq!(f.run("task_run", &[]).code, 0);
    f.repo.write("calc/in.txt", "2");
    f.repo.commit_all("change the input");
    assert_eq!(f.run("task_run", &[]).code, 0);
    let task_runs: Vec<String> = f
        .runs()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(task_runs.len(), 2);

    let xdg = tempfile::tempdir().unwrap();
    let server = Server::run(&dir_store(f.store.path()), xdg.path(), server_args);
    let auth = basic("aztec", "s3cret");
    let headers: Vec<(&str, &str)> = match server_args.is_empty() {
        true => vec![],
        false => vec![("Authorization", auth.as_str())],
    };
    let put = |path: &str, body: &[u8]| server.ask("PUT", path, &headers, Some(body));
    let post = |path: &str, body: &[u8]| server.ask("POST", path, &headers, Some(body));

    let t = now();
    let runs = [t - 600, t - 60];
    let finished = json!({"status": "PASSED", "msg": "Merge #12: faster builds", "name": "next build",
        "author": "Ann", "timestamp": runs[0], "complete": t - 300, "log_id": "ci-log-a"});
    ok(
        put(
            &format!("/runs/next/{}", runs[0]),
            finished.to_string().as_bytes(),
        ),
        "run record",
    );
    let running = json!({"status": "RUNNING", "msg": "<b>bold</b> claim", "author": "Bob",
        "name": "<script>document.title='pwned'</script>deploy", "timestamp": runs[1]});
    ok(
        put(
            &format!("/runs/next/{}", runs[1]),
            running.to_string().as_bytes(),
        ),
        "run record",
    );
    let ci_log = format!(
        "Building...\n{}\n{}\n",
        "\x1b[32mPASSED\x1b[0m (http://ci.example/test-log-1): ./scripts/ok.sh (3s)",
        "\x1b[31mFAILED\x1b[0m (http://ci.example/test-log-2): ./scripts/broken.sh e2e (9s) (code: 1)"
    );
    ok(put("/logs/ci-log-a", ci_log.as_bytes()), "ci log");
    ok(
        put(
            "/logs/test-log-2",
            b"e2e: \x1b[31massertion failed\x1b[0m\n",
        ),
        "test log",
    );

    // The pipeline's lists: the flaky test passed, flaked, passed; the failing one failed twice.
    let flaky_history = ci3::hash::hash_str_orig(FLAKY.as_bytes());
    let failing_history = ci3::hash::hash_str_orig(FAILING.as_bytes());
    for (n, (status, colour)) in [("PASSED", 32), ("FLAKED", 35), ("PASSED", 32)]
        .into_iter()
        .enumerate()
    {
        let tail = if status == "FLAKED" { " (code: 1)" } else { "" };
        let l = line(
            status,
            colour,
            &format!("flaky-{n}"),
            FLAKY,
            4 + n as u32,
            tail,
        );
        ok(
            post(&format!("/lists/history_{flaky_history}"), l.as_bytes()),
            "history",
        );
        if status == "FLAKED" {
            ok(post("/lists/failed_tests", l.as_bytes()), "feed");
        }
    }
    for n in 0..2 {
        let l = line(
            "FAILED",
            31,
            &format!("test-log-{}", n + 2),
            FAILING,
            20 + n,
            " (code: 1)",
        );
        ok(
            post(&format!("/lists/history_{failing_history}"), l.as_bytes()),
            "history",
        );
        ok(post("/lists/failed_tests", l.as_bytes()), "feed");
    }
    Filled {
        fixture: f,
        server,
        _xdg: xdg,
        runs,
        task_runs,
    }
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
    let s = filled(&[]);
    let shots = shots();
    let mut b = Browser::start(1280, 800);
    b.open(&url(&s.server, "/"));
    // Newest first: the running deploy above the finished build.
    let rows = text(&mut b, "table[data-section=next] tr.run td:nth-child(1)");
    assert_eq!(rows, "RUNNING|PASSED");
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
    assert_eq!(path, json!(format!("/_/run/next/{}", s.runs[0])));
    b.wait_for("document.querySelector('#log').getAttribute('data-polls')");
    assert!(text(&mut b, "#log").contains("Building..."));
    let red = b.eval(
        "Array.from(document.querySelectorAll('#log span')).filter(function(s){return s.textContent==='FAILED'})[0].style.color",
    );
    assert_eq!(red, json!("rgb(229, 57, 53)"));
    // Each test the log reports links to its own log.
    let links = b.eval(
        "Array.from(document.querySelectorAll('table.tests a')).map(function(a){return a.getAttribute('href')}).join(' ')",
    );
    assert_eq!(links, json!("/test-log-1 /test-log-2"));
    b.screenshot(&shots.join("run.png"));
    b.eval("document.querySelectorAll('table.tests a')[1].click()");
    b.event("Page.loadEventFired");
    b.wait_for("document.querySelector('#log').textContent.indexOf('assertion failed') >= 0");
}

#[test]
fn tests_page_shows_the_feed_the_flake_marks_and_each_history() {
    let s = filled(&[]);
    let shots = shots();
    let mut b = Browser::start(1280, 900);
    b.open(&url(&s.server, "/_/tests"));
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
    let titles = text(&mut b, "table.flaky tr.test:nth-child(3) rect.mark title");
    assert_eq!(titles, "PASSED 4s|FLAKED 5s|PASSED 6s");
    assert_eq!(
        text(&mut b, "table.feed tr.line td:nth-child(2)"),
        "FAILED|FAILED|FLAKED"
    );
    b.screenshot(&shots.join("tests.png"));
    b.eval("document.querySelector('table.flaky tr.test:nth-child(3) a').click()");
    b.event("Page.loadEventFired");
    assert_eq!(text(&mut b, "span.flakes"), "1");
    assert_eq!(count(&mut b, "table.feed tr.line"), 3);
    b.screenshot(&shots.join("test.png"));
}

#[test]
fn tasks_page_shows_statuses_runs_inputs_outputs_and_a_diff() {
    let s = filled(&[]);
    let shots = shots();
    let mut b = Browser::start(1280, 800);
    b.open(&url(&s.server, "/_/tasks"));
    assert_eq!(text(&mut b, "tr.task td:first-child"), "calc.build");
    assert_eq!(text(&mut b, "tr.task td.status"), "Exist");
    assert_eq!(count(&mut b, "tr.task svg.chart rect"), 2);
    b.screenshot(&shots.join("tasks.png"));

    b.open(&url(&s.server, "/_/task/calc.build"));
    let ids = text(&mut b, "tr.taskrun td:first-child");
    assert_eq!(ids, format!("{}|{}", s.task_runs[1], s.task_runs[0]));
    b.eval("document.querySelector('tr.taskrun a[href^=\"/_/taskdiff\"]').click()");
    b.event("Page.loadEventFired");
    assert_eq!(text(&mut b, "tr.difference td:nth-child(1)"), "D");
    assert_eq!(text(&mut b, "tr.difference td:nth-child(2)"), "calc/in.txt");
    b.screenshot(&shots.join("taskdiff.png"));

    b.open(&url(&s.server, &format!("/_/taskrun/{}", s.task_runs[1])));
    assert!(text(&mut b, "table.inputs").contains("calc/in.txt"));
    assert!(text(&mut b, "table.outputs").contains("out/x"));
    assert_eq!(s.fixture.runs().len(), 2);
}

#[test]
fn cache_page_adds_up_the_ledger_lines_the_tools_put_into_the_store() {
    // A shared store (the test S3 server): an upload, then a hit from it, each putting its
    // ledger line there; a server over the same bucket and prefix adds them up.
    let work = tempfile::tempdir().unwrap();
    let at = s3_prefix("dashboard-cache");
    let Where::S3(prefix) = &at else {
        unreachable!()
    };
    let store = format!("s3://{}/{prefix}", common::s3_var("CI3_S3_BUCKET"));
    std::fs::create_dir_all(work.path().join("built")).unwrap();
    std::fs::write(work.path().join("built/a.txt"), "artifact").unwrap();
    let env = Env::new(at.clone(), work.path()).var("CI", "1");
    let up = env.run("cache_upload", &["calc-0123456789abcdef.tar.gz", "built"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    let down = env.run("cache_download", &["calc-0123456789abcdef.tar.gz", "got"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    let server = Server::run(&store, &work.path().join("xdg"), &[]);

    let shots = shots();
    let mut b = Browser::start(1280, 600);
    b.open(&url(&server, "/_/cache"));
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
fn a_log_grows_on_screen_while_it_is_re_put() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::run(
        &dir_store(&dir.path().join("store")),
        &dir.path().join("xdg"),
        &[],
    );
    ok(
        server.put("/logs/live-1", b"line 1 starting\n"),
        "first put",
    );
    let mut b = Browser::start(1280, 500);
    b.open(&url(&server, "/live-1"));
    assert_eq!(text(&mut b, "#log"), "line 1 starting\n");
    // The page has polled the text endpoint once; the job writes more and re-PUTs its log.
    b.wait_for("document.querySelector('#log').getAttribute('data-polls')");
    let grown = "line 1 starting\n\x1b[31mline 2 still running\x1b[0m\n";
    ok(server.put("/logs/live-1", grown.as_bytes()), "second put");
    b.wait_for("document.querySelector('#log').textContent.indexOf('line 2 still running') >= 0");
    assert_eq!(
        text(&mut b, "#log"),
        "line 1 starting\nline 2 still running\n"
    );
    let colour = b.eval("document.querySelector('#log span').style.color");
    assert_eq!(colour, json!("rgb(229, 57, 53)"));
    b.screenshot(&shots().join("log.png"));
}

#[test]
fn a_log_with_markup_is_shown_as_text_and_api_answers_stay_plain() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::run(
        &dir_store(&dir.path().join("store")),
        &dir.path().join("xdg"),
        &[],
    );
    let evil = "\x1b[1;31m<script>document.title='pwned'</script>\x1b[0m\n<img src=x onerror=\"document.title='img'\">\n";
    ok(server.put("/logs/evil", evil.as_bytes()), "put");
    let mut b = Browser::start(1024, 400);
    b.open(&url(&server, "/evil"));
    b.wait_for("document.querySelector('#log').getAttribute('data-polls')");
    assert_eq!(count(&mut b, "#log script, #log img"), 0);
    assert_eq!(b.eval("document.title"), json!("Log evil · ci3"));
    assert_eq!(
        text(&mut b, "#log"),
        "<script>document.title='pwned'</script>\n<img src=x onerror=\"document.title='img'\">\n"
    );
    assert!(b.dom().contains("&lt;script&gt;document.title"));
    b.screenshot(&shots().join("log-markup.png"));

    // Clients that do not prefer HTML get the API's answers, byte for byte.
    for accept in [None, Some("*/*"), Some("text/plain, text/html;q=0.5")] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
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
    let api = server.ask("GET", "/logs/evil", &[("Accept", BROWSER_ACCEPT)], None);
    assert_eq!(api.body, evil.as_bytes());
    let page = server.ask("GET", "/evil", &[("Accept", BROWSER_ACCEPT)], None);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let missing = server.ask("GET", "/nothing-here", &[("Accept", BROWSER_ACCEPT)], None);
    assert_eq!(missing.status, 404);
    // No page writes: a form's POST to a page is the API's refusal, never a write.
    let posted = server.ask(
        "POST",
        "/_/tests",
        &[("Accept", BROWSER_ACCEPT)],
        Some(b"x=1"),
    );
    assert_eq!(
        (posted.status, posted.header("allow")),
        (405, Some("GET, HEAD"))
    );
    // And a page is a browser's: others asking for `/_/tests` get the API's answer (no log).
    let plain = server.get("/_/tests");
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
