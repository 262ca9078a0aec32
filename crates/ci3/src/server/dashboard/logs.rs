//! A log's page: its text with colours, the tests it names linked to their own logs, and a small
//! script that polls the text endpoint so a log still being re-PUT grows on screen.

use super::html::{esc, page as frame, url};
use super::{ansi, Ctx};
use crate::server::{limits, objects, reads};

/// Re-renders `#log` from `/logs/ID` once a second while the text changes; text goes in through
/// `textContent` only, so a log never becomes markup. Without script the page is the same log as
/// of its load.
const SCRIPT: &str = r#"<script>
(function(){
var pre=document.getElementById('log');if(!pre)return;
var src=pre.getAttribute('data-src'),last=null,polls=0;
var pal=['#555','#e53935','#43a047','#fdd835','#1e88e5','#ab47bc','#00acc1','#ddd','#888','#ff6e6e','#69f0ae','#ffff8d','#82b1ff','#ea80fc','#84ffff','#fff'];
function render(t){
 var frag=document.createDocumentFragment(),fg=null,bold=false,i=0,buf='';
 function flush(){if(!buf)return;var n;if(fg===null&&!bold){n=document.createTextNode(buf);}else{n=document.createElement('span');n.textContent=buf;if(fg!==null)n.style.color=pal[fg];if(bold)n.style.fontWeight='bold';}frag.appendChild(n);buf='';}
 while(i<t.length){var c=t.charCodeAt(i);
  if(c===27){flush();var n2=t[i+1];
   if(n2==='['){var j=i+2;while(j<t.length&&!(t.charCodeAt(j)>=64&&t.charCodeAt(j)<=126))j++;
    if(t[j]==='m'){t.slice(i+2,j).split(';').forEach(function(p){var v=parseInt(p||'0',10);
     if(v===0){fg=null;bold=false;}else if(v===1)bold=true;else if(v===22)bold=false;else if(v===39)fg=null;
     else if(v>=30&&v<=37)fg=v-30;else if(v>=90&&v<=97)fg=v-82;});}
    i=j+1;continue;}
   if(n2===']'){var k=i+2;while(k<t.length&&t.charCodeAt(k)!==7&&t.charCodeAt(k)!==27)k++;i=t.charCodeAt(k)===27?k+2:k+1;continue;}
   i+=2;continue;}
  if(c<32&&c!==10&&c!==9){i++;continue;}
  buf+=t[i];i++;}
 flush();return frag;}
function poll(){fetch(src,{cache:'no-store'}).then(function(r){return r.ok?r.text():null;}).then(function(t){
 polls++;pre.setAttribute('data-polls',String(polls));
 if(t!==null&&t!==last){last=t;pre.textContent='';pre.appendChild(render(t));pre.setAttribute('data-len',String(t.length));}
 setTimeout(poll,1000);},function(){setTimeout(poll,2000);});}
poll();
})();
</script>"#;

/// The page of log `id`; `None` when there is no such log.
pub fn page(ctx: &Ctx, id: &str) -> crate::Result<Option<String>> {
    let Some(text) = read(ctx, id)? else {
        return Ok(None);
    };
    let body = format!(
        "<p class=\"muted\">Log <code>{}</code> · <a href=\"/logs/{}\">plain text</a></p>{}",
        esc(id),
        url(id),
        view(id, &text)
    );
    Ok(Some(frame(&format!("Log {id}"), &body)))
}

/// A log's text, or `None`; a log is read up to its route's size limit.
pub fn read(ctx: &Ctx, id: &str) -> crate::Result<Option<String>> {
    let found = reads::small(
        ctx.store.as_ref(),
        &objects::log(id),
        ctx.now(),
        limits::LOG,
    )?;
    Ok(found.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

/// The live log block and, under it, the tests its lines report with links to their logs.
pub fn view(id: &str, text: &str) -> String {
    let mut out = format!(
        "<pre class=\"log\" id=\"log\" data-src=\"/logs/{}\">{}</pre>{SCRIPT}",
        url(id),
        ansi::to_html(text)
    );
    let tests = test_lines(text);
    if !tests.is_empty() {
        out.push_str("<h2>Tests in this log</h2><table class=\"tests\"><tr><th>Status</th><th>Test</th><th>Log</th></tr>");
        for t in tests {
            let link = match &t.log {
                Some(log) => format!("<a href=\"/{}\">{}</a>", url(log), esc(log)),
                None => String::new(),
            };
            out.push_str(&format!(
                "<tr><td class=\"{}\">{}</td><td><code>{}</code></td><td>{link}</td></tr>",
                super::html::status_class(&t.status),
                esc(&t.status),
                esc(&t.command)
            ));
        }
        out.push_str("</table>");
    }
    out
}

/// A test's line as `run_test_cmd` prints and lists it:
/// `[MM-DD HH:MM:SS: ]STATUS[ (URL)]: CMD (Ns)[ (code: N)][ group:G][ (AUTHOR: MSG)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestLine {
    pub when: Option<String>,
    pub status: String,
    pub log: Option<String>,
    pub command: String,
    pub seconds: Option<u64>,
    pub code: Option<i32>,
    pub author: Option<String>,
}

const STATUSES: [&str; 5] = ["PASSED", "FAILED", "FLAKED", "SKIPPED", "RUNNING"];

/// `line` read as a test line, colours stripped; `None` when it is not one.
pub fn parse_line(line: &str) -> Option<TestLine> {
    let plain = ansi::strip(line);
    let mut rest = plain.trim();
    let mut when = None;
    // `MM-DD HH:MM:SS: ` before the status on list lines.
    if rest.len() > 16 && rest.as_bytes()[2] == b'-' && &rest[14..16] == ": " {
        when = Some(rest[..14].to_string());
        rest = &rest[16..];
    }
    let status = STATUSES.iter().find(|s| rest.starts_with(**s))?;
    rest = &rest[status.len()..];
    let mut log = None;
    if let Some(linked) = rest.strip_prefix(" (") {
        let (link, after) = linked.split_once(')')?;
        log = link.rsplit('/').next().map(str::to_string);
        rest = after;
    }
    let mut rest = rest.strip_prefix(": ")?.to_string();
    let mut author = None;
    if let Some(open) = rest.rfind(" (") {
        let tail = &rest[open + 2..];
        if tail.ends_with(')') && tail.contains(": ") && !tail.starts_with("code: ") {
            let (who, _) = tail.split_once(": ").expect("checked");
            author = Some(who.to_string());
            rest.truncate(open);
        }
    }
    let group = rest.rfind(" group:").map(|at| rest.split_off(at));
    let _ = group;
    let mut code = None;
    if let Some(open) = rest.rfind(" (code: ") {
        code = rest[open + 8..].trim_end_matches(')').parse().ok();
        rest.truncate(open);
    }
    let mut seconds = None;
    if let Some(open) = rest.rfind(" (") {
        if let Some(n) = rest[open + 2..].strip_suffix("s)") {
            if let Ok(n) = n.parse() {
                seconds = Some(n);
                rest.truncate(open);
            }
        }
    }
    Some(TestLine {
        when,
        status: status.to_string(),
        log,
        command: rest,
        seconds,
        code,
        author,
    })
}

/// Every test line of a log, in order.
pub fn test_lines(text: &str) -> Vec<TestLine> {
    text.lines().filter_map(parse_line).collect()
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn list_lines() {
        let line = "05-14 10:02:03: \x1b[35mFLAKED\x1b[0m (http://ci.example/ab12): yarn test a.test.ts (12s) (code: 1) group:g (\x1b[35mAnn\x1b[0m: fix it)";
        let t = parse_line(line).unwrap();
        assert_eq!(t.when.as_deref(), Some("05-14 10:02:03"));
        assert_eq!(t.status, "FLAKED");
        assert_eq!(t.log.as_deref(), Some("ab12"));
        assert_eq!(t.command, "yarn test a.test.ts");
        assert_eq!((t.seconds, t.code), (Some(12), Some(1)));
        assert_eq!(t.author.as_deref(), Some("Ann"));
        let p = parse_line("PASSED: ./t.sh ok (3s)").unwrap();
        assert_eq!(
            (p.command.as_str(), p.seconds, p.log),
            ("./t.sh ok", Some(3), None)
        );
        assert!(parse_line("building x").is_none());
    }
}
