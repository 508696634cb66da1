//! Search index of the catalog: small JavaScript files under `search/` that the theme's
//! `assets/search.js` loads with `<script>` tags on first use (pages opened from `file://` cannot
//! `fetch`, and no inline script is needed, so pages work under a CSP without `unsafe-inline`).
//!
//! # Format
//!
//! `search/index.js` (the core, loaded when search opens) calls
//! `brokerSearch.init({...})` with:
//! - `v`: format version ([`FORMAT_VERSION`]);
//! - `shards`: the sorted keys of the shard files (see below);
//! - `types`: column type names, referenced by index from column records;
//! - `folders`: `[folder]` or `[folder, label]` (label from `catalog:` when it differs);
//! - `tables`: `[name, folder index]`, plus a third element, the page path, when it is not
//!   `tables/<name>.html`;
//! - `metrics`: `[name, display name, category, [synonyms]]`, plus a fifth element, the page path,
//!   when it is not `metrics/<category>/<name>.html`;
//! - `docs`: `[title, page path, [[heading text, heading id], ...]]`.
//!
//! Names of tables, metrics and docs are searched in the core (from the starts of their words, see
//! [`name_rank`]); shards hold the words of descriptions (tables, metrics, columns) and the words
//! of column names.
//!
//! `search/<file>.js` (a shard) calls `brokerSearch.load({...})` with:
//! - `k`: its key, the first 1 to [`MAX_KEY_CHARS`] characters of the folded words it holds;
//! - `p`: `1` when partial (present only then): it holds only the best [`SUMMARY_ITEMS`] entries
//!   for a query equal to its key, because all of them did not fit in [`SHARD_BUDGET`] bytes;
//!   longer queries go to the shards whose keys are one character longer;
//! - `w`: the sorted folded words;
//! - `h`: per word, its hits as integers: `4 × table index` for a table, `4 × metric index + 1`
//!   for a metric, `4 × c + 3` for the `c`-th column record of this shard;
//! - `c`: column records `[table index, column name, type index, description snippet]`, plus a
//!   fifth element, the anchor id, when it is not `column-<name>`.
//!
//! A query word `w` is looked up in the shard whose key is the longest listed key that is a
//! prefix of `w`; the file name of key `k` is [`shard_file`]`(k)`. One word therefore costs one
//! shard download.
//!
//! # Text folding
//!
//! Both sides compare text after [`fold`]: characters of the Latin, Greek, Cyrillic and kana
//! blocks are replaced by the first character of their canonical decomposition (JavaScript:
//! `normalize("NFD")`), the result is lowercased, combining marks are dropped, and `ß ø æ œ ł đ ð
//! þ ı ħ ŧ` are spelt out in ASCII. The table here was generated from Unicode 14 data; the JS in
//! `search.js` does the same steps with the browser's own tables, so the shard keys agree.
//! Words are runs of letters, digits and combining marks, split at camelCase boundaries; a word
//! holding CJK or kana characters is also indexed from each of those characters on (so `番号`
//! finds `顧客番号`).
//!
//! Everything is sorted and holds no time, so an unchanged instance gives the same bytes.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::OnceLock;

use rayon::prelude::*;
use serde_json::{json, Value};

use crate::site::markdown;
use crate::site::pages::{column_anchor, doc_path, metric_path, table_path};
use crate::site::SiteInput;

/// The hash maps of the index: keyed by words and numbers the catalog itself holds, hashed by
/// foldhash with a fixed seed (the keys come from the catalog's own declarations, not from
/// anyone who could choose them against the hash; SipHash took about 6% of the index's time).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
type HashSet<T> = std::collections::HashSet<T, foldhash::fast::FixedState>;

/// Version of the index format.
pub const FORMAT_VERSION: u32 = 1;
/// Largest shard in bytes before it is split by one more character (or, when it cannot be
/// split, cut to its best entries).
pub const SHARD_BUDGET: usize = 48 * 1024;
/// Entries kept in a partial shard: the best for a query equal to the shard's key.
pub const SUMMARY_ITEMS: usize = 100;
/// Longest shard key, in characters.
pub const MAX_KEY_CHARS: usize = 6;
/// Longest description snippet stored with a column record, in characters.
pub const SNIPPET_CHARS: usize = 60;
/// Words of one description that are indexed (the first ones).
const MAX_WORDS_PER_TEXT: usize = 40;
/// English words too common to be worth a posting in descriptions.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "its", "of",
    "on", "or", "the", "this", "that", "to", "was", "with",
];

const FOLD_PAIRS: &str = concat!(
    "ÀAÁAÂAÃAÄAÅAÇCÈEÉEÊEËEÌIÍIÎIÏIÑNÒOÓOÔOÕOÖOÙUÚUÛUÜUÝYàaáaâaãaäaåa",
    "çcèeéeêeëeìiíiîiïiñnòoóoôoõoöoùuúuûuüuýyÿyĀAāaĂAăaĄAąaĆCćcĈCĉcĊC",
    "ċcČCčcĎDďdĒEēeĔEĕeĖEėeĘEęeĚEěeĜGĝgĞGğgĠGġgĢGģgĤHĥhĨIĩiĪIīiĬIĭiĮI",
    "įiİIĴJĵjĶKķkĹLĺlĻLļlĽLľlŃNńnŅNņnŇNňnŌOōoŎOŏoŐOőoŔRŕrŖRŗrŘRřrŚSśs",
    "ŜSŝsŞSşsŠSšsŢTţtŤTťtŨUũuŪUūuŬUŭuŮUůuŰUűuŲUųuŴWŵwŶYŷyŸYŹZźzŻZżzŽZ",
    "žzƠOơoƯUưuǍAǎaǏIǐiǑOǒoǓUǔuǕUǖuǗUǘuǙUǚuǛUǜuǞAǟaǠAǡaǢÆǣæǦGǧgǨKǩkǪO",
    "ǫoǬOǭoǮƷǯʒǰjǴGǵgǸNǹnǺAǻaǼÆǽæǾØǿøȀAȁaȂAȃaȄEȅeȆEȇeȈIȉiȊIȋiȌOȍoȎOȏo",
    "ȐRȑrȒRȓrȔUȕuȖUȗuȘSșsȚTțtȞHȟhȦAȧaȨEȩeȪOȫoȬOȭoȮOȯoȰOȱoȲYȳyʹʹ;;΅¨ΆΑ",
    "··ΈΕΉΗΊΙΌΟΎΥΏΩΐιΪΙΫΥάαέεήηίιΰυϊιϋυόούυώωϓϒϔϒЀЕЁЕЃГЇІЌКЍИЎУЙИйиѐе",
    "ёеѓгїіќкѝиўуѶѴѷѵӁЖӂжӐАӑаӒАӓаӖЕӗеӚӘӛәӜЖӝжӞЗӟзӢИӣиӤИӥиӦОӧоӪӨӫөӬЭӭэ",
    "ӮУӯуӰУӱуӲУӳуӴЧӵчӸЫӹыḀAḁaḂBḃbḄBḅbḆBḇbḈCḉcḊDḋdḌDḍdḎDḏdḐDḑdḒDḓdḔEḕe",
    "ḖEḗeḘEḙeḚEḛeḜEḝeḞFḟfḠGḡgḢHḣhḤHḥhḦHḧhḨHḩhḪHḫhḬIḭiḮIḯiḰKḱkḲKḳkḴKḵk",
    "ḶLḷlḸLḹlḺLḻlḼLḽlḾMḿmṀMṁmṂMṃmṄNṅnṆNṇnṈNṉnṊNṋnṌOṍoṎOṏoṐOṑoṒOṓoṔPṕp",
    "ṖPṗpṘRṙrṚRṛrṜRṝrṞRṟrṠSṡsṢSṣsṤSṥsṦSṧsṨSṩsṪTṫtṬTṭtṮTṯtṰTṱtṲUṳuṴUṵu",
    "ṶUṷuṸUṹuṺUṻuṼVṽvṾVṿvẀWẁwẂWẃwẄWẅwẆWẇwẈWẉwẊXẋxẌXẍxẎYẏyẐZẑzẒZẓzẔZẕz",
    "ẖhẗtẘwẙyẛſẠAạaẢAảaẤAấaẦAầaẨAẩaẪAẫaẬAậaẮAắaẰAằaẲAẳaẴAẵaẶAặaẸEẹeẺE",
    "ẻeẼEẽeẾEếeỀEềeỂEểeỄEễeỆEệeỈIỉiỊIịiỌOọoỎOỏoỐOốoỒOồoỔOổoỖOỗoỘOộoỚO",
    "ớoỜOờoỞOởoỠOỡoỢOợoỤUụuỦUủuỨUứuỪUừuỬUửuỮUữuỰUựuỲYỳyỴYỵyỶYỷyỸYỹyἀα",
    "ἁαἂαἃαἄαἅαἆαἇαἈΑἉΑἊΑἋΑἌΑἍΑἎΑἏΑἐεἑεἒεἓεἔεἕεἘΕἙΕἚΕἛΕἜΕἝΕἠηἡηἢηἣηἤη",
    "ἥηἦηἧηἨΗἩΗἪΗἫΗἬΗἭΗἮΗἯΗἰιἱιἲιἳιἴιἵιἶιἷιἸΙἹΙἺΙἻΙἼΙἽΙἾΙἿΙὀοὁοὂοὃοὄο",
    "ὅοὈΟὉΟὊΟὋΟὌΟὍΟὐυὑυὒυὓυὔυὕυὖυὗυὙΥὛΥὝΥὟΥὠωὡωὢωὣωὤωὥωὦωὧωὨΩὩΩὪΩὫΩὬΩ",
    "ὭΩὮΩὯΩὰαάαὲεέεὴηήηὶιίιὸοόοὺυύυὼωώωᾀαᾁαᾂαᾃαᾄαᾅαᾆαᾇαᾈΑᾉΑᾊΑᾋΑᾌΑᾍΑᾎΑ",
    "ᾏΑᾐηᾑηᾒηᾓηᾔηᾕηᾖηᾗηᾘΗᾙΗᾚΗᾛΗᾜΗᾝΗᾞΗᾟΗᾠωᾡωᾢωᾣωᾤωᾥωᾦωᾧωᾨΩᾩΩᾪΩᾫΩᾬΩᾭΩᾮΩ",
    "ᾯΩᾰαᾱαᾲαᾳαᾴαᾶαᾷαᾸΑᾹΑᾺΑΆΑᾼΑιι῁¨ῂηῃηῄηῆηῇηῈΕΈΕῊΗΉΗῌΗ῍᾿῎᾿῏᾿ῐιῑιῒιΐι",
    "ῖιῗιῘΙῙΙῚΙΊΙ῝῾῞῾῟῾ῠυῡυῢυΰυῤρῥρῦυῧυῨΥῩΥῪΥΎΥῬΡ῭¨΅¨``ῲωῳωῴωῶωῷωῸΟΌΟ",
    "ῺΩΏΩῼΩ´´がかぎきぐくげけごこざさじしずすぜせぞそだたぢちづつでてどとばはぱはびひぴひぶふぷふべへぺへぼほぽほゔうゞゝガカ",
    "ギキグクゲケゴコザサジシズスゼセゾソダタヂチヅツデテドトバハパハビヒピヒブフプフベヘペヘボホポホヴウヷワヸヰヹヱヺヲヾヽ",
);

/// The decomposition table as sorted `(character, base)` pairs.
fn fold_table() -> &'static [(char, char)] {
    static TABLE: OnceLock<Vec<(char, char)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let chars: Vec<char> = FOLD_PAIRS.chars().collect();
        let mut pairs: Vec<(char, char)> = chars.chunks(2).map(|p| (p[0], p[1])).collect();
        pairs.sort_unstable();
        pairs
    })
}

/// Blocks whose characters are decomposed by [`fold`] (JS: the same ranges in `search.js`).
fn in_fold_range(c: char) -> bool {
    matches!(c as u32, 0xC0..=0x24F | 0x370..=0x4FF | 0x1E00..=0x1FFF | 0x3040..=0x30FF)
}

/// Combining marks dropped by [`fold`].
fn is_mark(c: char) -> bool {
    matches!(c as u32,
        0x300..=0x36F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F
        | 0x3099..=0x309A)
}

/// Letters without a decomposition that readers type without their stroke or ligature.
fn spelt_out(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'ø' => "o",
        'æ' => "ae",
        'œ' => "oe",
        'ł' => "l",
        'đ' | 'ð' => "d",
        'þ' => "th",
        'ı' => "i",
        'ħ' => "h",
        'ŧ' => "t",
        _ => return None,
    })
}

/// Fold text for comparison: decompose Latin, Greek, Cyrillic and kana letters and keep their
/// base, lowercase, drop combining marks, spell out `ß ø æ œ ł đ ð þ ı ħ ŧ`
/// (`Zákazník` → `zakaznik`, `Ørsted` → `orsted`, `straße` → `strasse`; `顧客` is unchanged).
pub fn fold(s: &str) -> String {
    // ASCII has nothing to decompose, drop or spell out.
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    let table = fold_table();
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        let base = if in_fold_range(ch) {
            match table.binary_search_by_key(&ch, |p| p.0) {
                Ok(i) => table[i].1,
                Err(_) => ch,
            }
        } else {
            ch
        };
        for c in base.to_lowercase() {
            if is_mark(c) {
                continue;
            }
            match spelt_out(c) {
                Some(s) => out.push_str(s),
                None => out.push(c),
            }
        }
    }
    out
}

/// A word character: a letter, a digit or a combining mark (so decomposed accents stay inside
/// their word).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_mark(c)
}

/// CJK ideographs, kana and Hangul: scripts written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF | 0x3040..=0x30FF | 0x3100..=0x31FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// [`fold`] of one word, borrowed when folding would not change it (lowercase ASCII: most
/// words of a catalog).
fn fold_word(w: &str) -> Cow<'_, str> {
    if w.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        Cow::Borrowed(w)
    } else {
        Cow::Owned(fold(w))
    }
}

/// The folded words of `text`: runs of letters, digits and combining marks, also split where a
/// lowercase letter is followed by an uppercase one (`orderDate` → `order`, `date`;
/// `customer_id` → `customer`, `id`). Empty words are dropped; order is kept.
pub fn words(text: &str) -> Vec<Cow<'_, str>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut prev_lower = false;
    let mut flush = |start: &mut Option<usize>, end: usize| {
        if let Some(s) = start.take() {
            let w = fold_word(&text[s..end]);
            if !w.is_empty() {
                out.push(w);
            }
        }
    };
    for (i, c) in text.char_indices() {
        if !is_word_char(c) {
            flush(&mut start, i);
            prev_lower = false;
            continue;
        }
        if prev_lower && c.is_uppercase() {
            flush(&mut start, i);
        }
        start.get_or_insert(i);
        prev_lower = c.is_lowercase();
    }
    flush(&mut start, text.len());
    out
}

/// The tokens `text` is indexed under: its [`words`], and for a word holding CJK characters also
/// the rest of the word from each later CJK character on (at most 16 per word). Sorted, unique.
/// With `stop`, English stop words are left out (descriptions).
pub fn tokens(text: &str, stop: bool) -> Vec<Cow<'_, str>> {
    let mut out = Vec::new();
    for w in words(text).into_iter().take(MAX_WORDS_PER_TEXT) {
        if stop && STOP_WORDS.contains(&&*w) {
            continue;
        }
        if w.chars().any(is_cjk) {
            for (i, c) in w.char_indices().skip(1).take(15) {
                if is_cjk(c) {
                    out.push(Cow::Owned(w[i..].to_string()));
                }
            }
        }
        out.push(w);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// [`fold`] without anything but letters and digits: the form names are matched in
/// (`Customer ID` and `customer_id` both give `customerid`).
pub fn compact(s: &str) -> String {
    fold(s).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// [`compact`] with a space where each word of the name after the first starts: the starts of
/// its [`words`], changes from letters to digits and back, and every CJK character
/// (`Customer ID` → `customer id`, `order2Total` → `order 2 total`, `顧客番号` → `顧 客 番 号`).
/// `search.js` computes the same word starts (`nameForm`).
pub fn name_form(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let (mut in_word, mut prev_lower, mut prev) = (false, false, None::<char>);
    let mut buf = [0u8; 4];
    for ch in text.chars() {
        // `fold` works character by character, so the pieces add up to `fold(text)`.
        let mut start = true;
        if is_word_char(ch) {
            start = !in_word || (prev_lower && ch.is_uppercase());
            in_word = true;
            prev_lower = ch.is_lowercase();
        } else {
            in_word = false;
            prev_lower = false;
        }
        for c in fold(ch.encode_utf8(&mut buf)).chars() {
            if !c.is_alphanumeric() {
                continue;
            }
            let digit_change = prev.is_some_and(|p| p.is_numeric() != c.is_numeric());
            if (start || is_cjk(c) || digit_change) && !out.is_empty() {
                out.push(' ');
            }
            start = false;
            out.push(c);
            prev = Some(c);
        }
    }
    out
}

/// How well a name answers a one-word query (`query` [`compact`], `name` a [`name_form`]): 0 the
/// name is the query, 1 the name matches it from its start, 2 from the start of a later word, 3
/// not at all (the entry matched by another word: a description, a category). A match starts
/// where a word of the name starts and ends where one starts, at the end of the name, or inside
/// the word it started in (`cust` and `customerid` match `customer id`, `tomer` and
/// `customeri` do not). Lower is better; `search.js` ranks the same way.
pub fn name_rank(query: &str, name: &str) -> u8 {
    let (q, n) = (query.as_bytes(), name.as_bytes());
    let Some(&q0) = q.first() else {
        return if n.is_empty() { 0 } else { 1 };
    };
    // Byte by byte from each word start (a space is ASCII, never inside a UTF-8 character):
    // names are short and this runs for every entry of a big shard.
    let mut start = 0;
    while start < n.len() {
        if n[start] == q0 {
            let (mut p, mut j, mut crossed) = (start, 0, false);
            while j < q.len() && p < n.len() {
                if n[p] == b' ' {
                    crossed = true;
                } else if n[p] == q[j] {
                    j += 1;
                } else {
                    break;
                }
                p += 1;
            }
            if j == q.len() && (p == n.len() || n[p] == b' ' || !crossed) {
                return match (start, p == n.len()) {
                    (0, true) => 0,
                    (0, false) => 1,
                    _ => 2,
                };
            }
        }
        match n[start..].iter().position(|&b| b == b' ') {
            Some(i) => start += i + 1,
            None => break,
        }
    }
    3
}

/// The file of a shard key under `search/`: ASCII letters and digits as they are, any other
/// character as `_<hex code point>_`, then `.js` (`ab` → `ab.js`, `顧` → `_9867_.js`).
pub fn shard_file(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else {
            out.push_str(&format!("_{:x}_", c as u32));
        }
    }
    out.push_str(".js");
    out
}

/// JSON made safe inside a JavaScript file that could be pasted into a `<script>` element:
/// `<`, `>`, `&`, U+2028 and U+2029 as `\u` escapes (they occur only inside JSON strings).
pub fn script_json(v: &Value) -> String {
    let text = v.to_string();
    // Most shards hold none of them (U+2028 and U+2029 start with the byte 0xE2).
    if !text.bytes().any(|b| matches!(b, b'<' | b'>' | b'&' | 0xE2)) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The start of a description, at most [`SNIPPET_CHARS`] characters, cut at a space with `…`.
pub fn snippet(text: &str) -> String {
    // The words joined by single spaces, up to the first SNIPPET_CHARS characters.
    let mut out = String::with_capacity(text.len().min(4 * SNIPPET_CHARS) + 3);
    let mut chars = 0;
    let mut longer = false;
    'words: for (k, word) in text.split_whitespace().enumerate() {
        if k > 0 {
            if chars == SNIPPET_CHARS {
                longer = true;
                break;
            }
            out.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars == SNIPPET_CHARS {
                longer = true;
                break 'words;
            }
            out.push(c);
            chars += 1;
        }
    }
    if !longer {
        return out;
    }
    if let Some(i) = out.rfind(' ').filter(|&i| i > SNIPPET_CHARS / 2) {
        out.truncate(i);
    }
    let keep = out.trim_end_matches([',', '.', ';', ':']).len();
    out.truncate(keep);
    out.push('…');
    out
}

/// An entry that shards point at (tables, metrics, then columns, each in input order; results
/// of equal rank are in catalog order, see [`Index::order`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Item {
    Table(usize),
    Metric(usize),
    /// Table index, column position.
    Column(usize, usize),
}

/// A word and the entries it is found in.
type Posting<'a> = (&'a str, &'a [Item]);

/// One column as the index shows it.
struct ColumnEntry {
    name: String,
    type_index: usize,
    snippet: String,
}

/// The collected index before it is cut into shards.
struct Index {
    /// Number of tables.
    tables: usize,
    /// Name, display name and synonyms per metric, each a [`name_form`].
    metric_names: Vec<Vec<String>>,
    /// Columns per table.
    columns: Vec<Vec<ColumnEntry>>,
    /// Per table, the [`Index::entry`] number of its first column.
    first_column: Vec<usize>,
    /// The [`name_form`]s of the tables and columns, by entry number, end to end in one buffer
    /// (metrics' are empty; see `metric_names`): ranking reads one for every entry of a big
    /// shard, so they sit together rather than behind a pointer each.
    names: String,
    /// Per entry, the end of its name in `names` (its start is the previous entry's end).
    name_ends: Vec<u32>,
    /// Per entry, its place among results of equal rank (as in `search.js`): tables, metrics,
    /// then columns, each in catalog order: tables by folder (in the catalog's order), then in
    /// input order; metrics in input order (by category, then name); columns by their table's
    /// place, then in column order.
    order: Vec<u32>,
    /// Token → entries, sorted by token; each token's entries sorted and unique.
    postings: Vec<(String, Vec<Item>)>,
}

impl Index {
    /// Number of entries: tables, metrics and columns.
    fn entries(&self) -> usize {
        self.name_ends.len()
    }

    /// The entry's number in `0..entries()`: tables, then metrics, then columns table by table.
    fn entry(&self, item: Item) -> usize {
        match item {
            Item::Table(t) => t,
            Item::Metric(m) => self.tables + m,
            Item::Column(t, c) => self.first_column[t] + c,
        }
    }

    fn rank(&self, query: &str, item: Item) -> u8 {
        match item {
            Item::Metric(m) => self.metric_names[m]
                .iter()
                .map(|n| name_rank(query, n))
                .min()
                .unwrap_or(3),
            _ => {
                let e = self.entry(item);
                let start = e.checked_sub(1).map_or(0, |p| self.name_ends[p] as usize);
                name_rank(query, &self.names[start..self.name_ends[e] as usize])
            }
        }
    }

    /// The entry's place among results of equal rank.
    fn order(&self, item: Item) -> u32 {
        self.order[self.entry(item)]
    }
}

/// One generated file: path under the output root and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchFile {
    /// Path from the output root (`search/index.js`, `search/<key>.js`).
    pub path: String,
    /// The JavaScript text.
    pub text: String,
}

/// The columns of a table as its page shows them: the synced ones, else the declared ones;
/// `(name, type, description)`.
fn table_columns(t: &crate::site::TableReport) -> Vec<(&str, &'static str, Option<&str>)> {
    match &t.synced {
        Some(s) => s
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let desc = t
                    .spec
                    .column_of(i, &c.source_name, &c.name)
                    .and_then(|d| d.description.as_deref());
                (c.name.as_str(), c.column_type.as_str(), desc)
            })
            .collect(),
        None => t
            .spec
            .columns
            .iter()
            .map(|c| {
                let ty = c.column_type.map(|t| t.as_str()).unwrap_or("n/a");
                (c.name.as_str(), ty, c.description.as_deref())
            })
            .collect(),
    }
}

/// Build the search files for `input`: `search/index.js` and one file per shard, sorted by path.
///
/// Errors: none in practice (JSON encoding of strings); kept as a `Result` for the caller's `?`.
pub fn build(input: &SiteInput) -> anyhow::Result<Vec<SearchFile>> {
    let mut types: Vec<String> = Vec::new();
    let mut type_ids: HashMap<&str, usize> = HashMap::default();
    // Token → entries. Each table's words (its description, its columns' names and
    // descriptions) are folded and grouped in parallel, the costly part of the index on a
    // large catalog: a catalog repeats a few thousand words hundreds of thousands of times, so
    // a token is copied only the first time a thread meets it.
    let add = |by_token: &mut HashMap<String, Vec<Item>>, text: &str, stop: bool, item: Item| {
        for w in tokens(text, stop) {
            match by_token.get_mut(&*w) {
                Some(items) => items.push(item),
                None => {
                    by_token.insert(w.into_owned(), vec![item]);
                }
            }
        }
    };
    let mut by_token: HashMap<String, Vec<Item>> = input
        .tables
        .par_iter()
        .enumerate()
        .fold(HashMap::default, |mut by_token, (ti, t)| {
            add(&mut by_token, &t.spec.description, true, Item::Table(ti));
            for (ci, (cname, _, desc)) in table_columns(t).into_iter().enumerate() {
                let item = Item::Column(ti, ci);
                add(&mut by_token, cname, false, item);
                if let Some(d) = desc {
                    add(&mut by_token, d, true, item);
                }
            }
            by_token
        })
        .reduce(HashMap::default, |a, b| {
            let (mut a, b) = if a.len() >= b.len() { (a, b) } else { (b, a) };
            for (w, mut items) in b {
                a.entry(w).or_default().append(&mut items);
            }
            a
        });

    // Folders in catalog order.
    let folder_order = input
        .catalog
        .ordered(input.tables.iter().map(|t| t.spec.folder.as_str()));
    let folder_ids: HashMap<&str, usize> = folder_order
        .iter()
        .enumerate()
        .map(|(i, f)| (*f, i))
        .collect();
    let folders: Vec<Value> = folder_order
        .iter()
        .map(|f| {
            let label = input.catalog.label(f);
            if label == *f {
                json!([f])
            } else {
                json!([f, label])
            }
        })
        .collect();

    // Per table: its columns' records (type index still to assign), name forms and anchors
    // (when not `column-<name>`), in parallel.
    type TableColumns<'a> = (
        Vec<(ColumnEntry, &'a str)>,
        Vec<String>,
        Vec<Option<String>>,
    );
    let per_table: Vec<TableColumns> = input
        .tables
        .par_iter()
        .map(|t| {
            let mut cols = Vec::new();
            let mut names = Vec::new();
            let mut anchor_row = Vec::new();
            for (cname, ctype, desc) in table_columns(t) {
                let anchor = column_anchor(cname);
                anchor_row.push((anchor.strip_prefix("column-") != Some(cname)).then_some(anchor));
                names.push(name_form(cname));
                let entry = ColumnEntry {
                    name: cname.to_string(),
                    type_index: 0,
                    snippet: desc.map(snippet).unwrap_or_default(),
                };
                cols.push((entry, ctype));
            }
            (cols, names, anchor_row)
        })
        .collect();
    let mut tables_json = Vec::new();
    let mut columns = Vec::new();
    let mut column_names = Vec::new();
    let mut anchors: Vec<Vec<Option<String>>> = Vec::new();
    for (t, (cols, names, anchor_row)) in input.tables.iter().zip(per_table) {
        let name = &t.spec.name;
        let mut entry = json!([
            name,
            folder_ids.get(t.spec.folder.as_str()).copied().unwrap_or(0)
        ]);
        let path = table_path(name);
        if path != format!("tables/{name}.html") {
            if let Some(a) = entry.as_array_mut() {
                a.push(json!(path));
            }
        }
        tables_json.push(entry);
        let cols: Vec<ColumnEntry> = cols
            .into_iter()
            .map(|(mut entry, ctype)| {
                entry.type_index = match type_ids.get(ctype) {
                    Some(&i) => i,
                    None => {
                        types.push(ctype.to_string());
                        type_ids.insert(ctype, types.len() - 1);
                        types.len() - 1
                    }
                };
                entry
            })
            .collect();
        columns.push(cols);
        column_names.push(names);
        anchors.push(anchor_row);
    }

    let mut metrics_json = Vec::new();
    let mut metric_names = Vec::new();
    for (mi, m) in input.metrics.iter().enumerate() {
        let m = &m.metric;
        let mut entry = json!([m.name, m.display_name, m.category, m.synonyms]);
        let path = metric_path(m);
        if path != format!("metrics/{}/{}.html", m.category, m.name) {
            if let Some(a) = entry.as_array_mut() {
                a.push(json!(path));
            }
        }
        metrics_json.push(entry);
        add(&mut by_token, &m.description, true, Item::Metric(mi));
        let mut names = vec![name_form(&m.name), name_form(&m.display_name)];
        names.extend(m.synonyms.iter().map(|s| name_form(s)));
        metric_names.push(names);
    }

    let docs_json: Vec<Value> = input
        .content
        .docs
        .iter()
        .map(|d| {
            let headings: Vec<Value> = markdown::headings(&d.markdown)
                .iter()
                .filter(|h| !(h.level == 1 && h.text == d.title))
                .map(|h| json!([h.text, h.id]))
                .collect();
            json!([d.title, doc_path(&d.slug), headings])
        })
        .collect();

    // The tokens and each token's entries sorted.
    let mut postings: Vec<(String, Vec<Item>)> = by_token.into_iter().collect();
    postings.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
    postings.par_iter_mut().for_each(|(_, items)| {
        items.sort_unstable();
        items.dedup();
    });

    let first_column: Vec<usize> = columns
        .iter()
        .scan(input.tables.len() + metric_names.len(), |next, cols| {
            let first = *next;
            *next += cols.len();
            Some(first)
        })
        .collect();
    let mut names = String::new();
    let mut name_ends = Vec::new();
    let table_names = input.tables.iter().map(|t| name_form(&t.spec.name));
    let metric_slots = metric_names.iter().map(|_| String::new());
    for name in table_names
        .chain(metric_slots)
        .chain(column_names.into_iter().flatten())
    {
        names.push_str(&name);
        name_ends.push(names.len() as u32);
    }
    // Tables by folder (catalog order), then input order; columns by their table's place, then
    // column order; metrics in input order (already by category, then name).
    let folder_of: Vec<usize> = input
        .tables
        .iter()
        .map(|t| folder_ids.get(t.spec.folder.as_str()).copied().unwrap_or(0))
        .collect();
    let mut by_order: Vec<(u8, usize, usize, usize, usize)> = (0..input.tables.len())
        .map(|t| (0, folder_of[t], t, 0, t))
        .chain((0..metric_names.len()).map(|m| (1, 0, m, 0, input.tables.len() + m)))
        .chain(columns.iter().enumerate().flat_map(|(t, cols)| {
            let (first, folder) = (first_column[t], folder_of[t]);
            (0..cols.len()).map(move |c| (3, folder, t, c, first + c))
        }))
        .collect();
    by_order.sort_unstable();
    let mut order = vec![0; by_order.len()];
    for (place, &(_, _, _, _, entry)) in by_order.iter().enumerate() {
        order[entry] = place as u32;
    }
    drop(by_order);
    let index = Index {
        tables: input.tables.len(),
        metric_names,
        columns,
        first_column,
        names,
        name_ends,
        order,
        postings,
    };

    let all: Vec<Posting> = index
        .postings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_slice()))
        .collect();
    // One group per first character, rendered in parallel.
    let mut shards: Vec<(String, String)> = group_by_prefix(&all, 1)
        .into_par_iter()
        .flat_map_iter(|(key, group)| {
            let mut out = Vec::new();
            emit(&index, &anchors, key, group, &mut out);
            out
        })
        .collect();
    shards.sort();

    let manifest = json!({
        "v": FORMAT_VERSION,
        "shards": shards.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        "types": types,
        "folders": folders,
        "tables": tables_json,
        "metrics": metrics_json,
        "docs": docs_json,
    });
    let mut files = vec![SearchFile {
        path: "search/index.js".to_string(),
        text: format!("brokerSearch.init({});\n", script_json(&manifest)),
    }];
    files.extend(shards.into_iter().map(|(k, text)| SearchFile {
        path: format!("search/{}", shard_file(&k)),
        text,
    }));
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Split sorted `(token, entries)` pairs into runs sharing their first `n` characters; tokens
/// shorter than `n` characters are left out.
fn group_by_prefix<'a>(tokens: &[Posting<'a>], n: usize) -> Vec<(String, Vec<Posting<'a>>)> {
    let mut out: Vec<(String, Vec<Posting<'a>>)> = Vec::new();
    for &(t, items) in tokens {
        // The byte length of the first `n` characters, if `t` has that many.
        let Some(len) = t.char_indices().map(|(i, c)| i + c.len_utf8()).nth(n - 1) else {
            continue;
        };
        let key = &t[..len];
        match out.last_mut() {
            Some((k, g)) if k == key => g.push((t, items)),
            _ => out.push((key.to_string(), vec![(t, items)])),
        }
    }
    out
}

/// Add the shard(s) for `key`: one full shard when it fits in [`SHARD_BUDGET`]; else a partial
/// shard (the best entries for the query `key`) and, when the key can grow, one shard per next
/// character.
fn emit(
    index: &Index,
    anchors: &[Vec<Option<String>>],
    key: String,
    group: Vec<Posting>,
    out: &mut Vec<(String, String)>,
) {
    // Rendering a group of a word found in most descriptions costs megabytes: estimate first.
    // The estimate is a lower bound, so a group estimated above the budget is never rendered
    // whole (it could not fit).
    if estimate(index, &group) <= SHARD_BUDGET {
        let full = render_shard(index, anchors, &key, &group, None);
        if full.len() <= SHARD_BUDGET {
            out.push((key, full));
            return;
        }
    }
    // The best entries for the query `key`, as search.js ranks them.
    type Ranked = ((u8, u32), Item);
    // Each entry once (a group of a common word holds hundreds of thousands of hits: marking
    // them is cheaper than sorting them), ranked.
    let mut seen = vec![false; index.entries()];
    let mut ranked: Vec<Ranked> =
        Vec::with_capacity(group.iter().map(|(_, items)| items.len()).sum());
    ranked.extend(
        group
            .iter()
            .flat_map(|(_, items)| items.iter().copied())
            .filter(|&i| !std::mem::replace(&mut seen[index.entry(i)], true))
            .map(|i| ((index.rank(&key, i), index.order(i)), i)),
    );
    if ranked.len() > SUMMARY_ITEMS {
        ranked.select_nth_unstable(SUMMARY_ITEMS);
        ranked.truncate(SUMMARY_ITEMS);
    }
    ranked.sort_unstable();
    let candidates: Vec<Item> = ranked.into_iter().map(|(_, i)| i).collect();
    let mut keep = candidates.len();
    let text = loop {
        let mut set = candidates[..keep].to_vec();
        set.sort_unstable();
        let text = render_shard(index, anchors, &key, &group, Some(&set));
        if text.len() <= SHARD_BUDGET || keep <= 1 {
            break text;
        }
        keep /= 2;
    };
    out.push((key.clone(), text));
    let n = key.chars().count();
    if n < MAX_KEY_CHARS {
        // The children of a big group are big too (`c` → `co` → `col`…): in parallel.
        let children: Vec<(String, String)> = group_by_prefix(&group, n + 1)
            .into_par_iter()
            .flat_map_iter(|(child, g)| {
                let mut shards = Vec::new();
                emit(index, anchors, child, g, &mut shards);
                shards
            })
            .collect();
        out.extend(children);
    }
}

/// A lower bound of the bytes of a full shard of `group` (words, hits, column records).
fn estimate(index: &Index, group: &[Posting]) -> usize {
    let mut bytes = 0;
    let mut cols: HashSet<(usize, usize)> =
        HashSet::with_capacity_and_hasher(1024, Default::default());
    for (t, items) in group {
        bytes += t.len() + 4 + items.len() * 2;
        for i in items.iter() {
            if let Item::Column(t, c) = i {
                if cols.insert((*t, *c)) {
                    let e = &index.columns[*t][*c];
                    bytes += e.name.len() + e.snippet.len() + 12;
                }
            }
        }
        if bytes > 4 * SHARD_BUDGET {
            break;
        }
    }
    bytes
}

/// The JavaScript text of one shard; with `keep` (sorted), only those entries (and the shard is marked
/// partial).
fn render_shard(
    index: &Index,
    anchors: &[Vec<Option<String>>],
    key: &str,
    group: &[Posting],
    keep: Option<&[Item]>,
) -> String {
    let wanted = |i: &Item| keep.is_none_or(|k| k.binary_search(i).is_ok());
    let cols: BTreeSet<(usize, usize)> = group
        .iter()
        .flat_map(|(_, items)| items.iter())
        .filter(|i| wanted(i))
        .filter_map(|i| match i {
            Item::Column(t, c) => Some((*t, *c)),
            _ => None,
        })
        .collect();
    let local: HashMap<(usize, usize), usize> =
        cols.iter().enumerate().map(|(j, tc)| (*tc, j)).collect();
    let mut words = Vec::new();
    let mut hits = Vec::new();
    for (t, items) in group {
        let h: Vec<usize> = items
            .iter()
            .filter(|i| wanted(i))
            .map(|i| match i {
                Item::Table(t) => t * 4,
                Item::Metric(m) => m * 4 + 1,
                Item::Column(t, c) => local[&(*t, *c)] * 4 + 3,
            })
            .collect();
        if !h.is_empty() {
            words.push(*t);
            hits.push(h);
        }
    }
    let records: Vec<Value> = cols
        .iter()
        .map(|&(t, c)| {
            let e = &index.columns[t][c];
            let mut r = vec![
                json!(t),
                json!(e.name),
                json!(e.type_index),
                json!(e.snippet),
            ];
            if let Some(a) = &anchors[t][c] {
                r.push(json!(a));
            }
            Value::Array(r)
        })
        .collect();
    let mut v = json!({"k": key, "w": words, "h": hits, "c": records});
    if keep.is_some() {
        v["p"] = json!(1);
    }
    format!("brokerSearch.load({});\n", script_json(&v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::tests::input;

    /// The shard text's JSON object.
    fn shard_json(text: &str) -> Value {
        let body = text
            .strip_prefix("brokerSearch.load(")
            .and_then(|t| t.strip_suffix(");\n"))
            .expect("shard wrapper");
        serde_json::from_str(body).expect("shard JSON")
    }

    #[test]
    fn fold_strips_accents_and_lowercases_in_every_script() {
        assert_eq!(fold("Zákazník"), "zakaznik");
        assert_eq!(fold("čísло"), "cisло");
        assert_eq!(fold("ČÍSЛО"), "cisло");
        assert_eq!(fold("Ørsted"), "orsted");
        assert_eq!(fold("straße"), "strasse");
        assert_eq!(fold("STRASSE"), "strasse");
        assert_eq!(fold("顧客"), "顧客");
        assert_eq!(fold("Ἀθῆναι"), "αθηναι");
        assert_eq!(fold("Йогурт"), "иогурт");
        assert_eq!(fold("がっこう"), "かっこう");
        // Already decomposed input (macOS file names): the marks are dropped.
        assert_eq!(fold("Za\u{301}kazni\u{301}k"), "zakaznik");
        assert_eq!(fold("İstanbul"), "istanbul");
        assert_eq!(fold("Æble Œuvre"), "aeble oeuvre");
    }

    #[test]
    fn words_split_on_punctuation_and_camel_case() {
        assert_eq!(words("customer_id"), ["customer", "id"]);
        assert_eq!(words("orderDate, Zákazník!"), ["order", "date", "zakaznik"]);
        assert_eq!(words("HTTPStatus"), ["httpstatus"]);
        assert_eq!(words("Za\u{301}kazni\u{301}k"), ["zakaznik"]);
        assert_eq!(words("顧客 番号"), ["顧客", "番号"]);
        assert!(words(" -- ").is_empty());
    }

    #[test]
    fn tokens_drop_stop_words_and_index_cjk_suffixes() {
        let t = tokens("The id of the customer", true);
        assert_eq!(t.into_iter().collect::<Vec<_>>(), ["customer", "id"]);
        let t = tokens("The id", false);
        assert_eq!(t.into_iter().collect::<Vec<_>>(), ["id", "the"]);
        let t = tokens("顧客番号", false);
        assert_eq!(
            t.into_iter().collect::<Vec<_>>(),
            ["号", "客番号", "番号", "顧客番号"]
        );
    }

    #[test]
    fn ranking_inputs() {
        assert_eq!(compact("Customer ID"), "customerid");
        assert_eq!(compact("customer_id"), "customerid");
        assert_eq!(name_form("Customer ID"), "customer id");
        assert_eq!(name_form("customer_id"), "customer id");
        assert_eq!(name_form("orderDate"), "order date");
        assert_eq!(name_form("order2Total"), "order 2 total");
        assert_eq!(name_form("HTTPStatus"), "httpstatus");
        assert_eq!(name_form("顧客番号"), "顧 客 番 号");
        assert_eq!(name_form("Zákazník (CZ)"), "zakaznik cz");
        assert_eq!(name_form("straße"), "strasse");
        assert_eq!(name_form(" -- "), "");
        let n = name_form("customer_id");
        assert_eq!(name_rank("customerid", &n), 0);
        assert_eq!(name_rank("cust", &n), 1);
        assert_eq!(name_rank("customer", &n), 1);
        assert_eq!(name_rank("id", &n), 2);
        assert_eq!(name_rank("zip", &n), 3);
        // Not from inside a word, and not ending inside a later word.
        assert_eq!(name_rank("tomer", &n), 3);
        assert_eq!(name_rank("customeri", &n), 3);
        let n = name_form("Customer Satisfaction");
        assert_eq!(name_rank("customers", &n), 3);
        assert_eq!(name_rank("sat", &n), 2);
        assert_eq!(
            name_rank("customers", &name_form("Active and New Customers")),
            2
        );
        assert_eq!(name_rank("aab", &name_form("aaab")), 3);
        assert_eq!(name_rank("aab", &name_form("a_aab")), 2);
        assert_eq!(name_rank("ida", &name_form("id")), 3);
        assert_eq!(name_rank("番号", &name_form("顧客番号")), 2);
        assert_eq!(name_rank("2", &name_form("order2")), 2);
        assert_eq!(name_rank("", ""), 0);
        assert_eq!(name_rank("", "id"), 1);
        assert_eq!(name_rank(&compact("čí"), &name_form("Čísło")), 1);
    }

    #[test]
    fn shard_files_and_snippets() {
        assert_eq!(shard_file("ab"), "ab.js");
        assert_eq!(shard_file("顧"), "_9867_.js");
        assert_eq!(shard_file("é1"), "_e9_1.js");
        assert_eq!(snippet("  short\n text "), "short text");
        let long = "word ".repeat(30);
        let s = snippet(&long);
        assert!(s.ends_with('…'), "{s}");
        assert!(s.chars().count() <= SNIPPET_CHARS + 1, "{s}");
        // Cut at the last space of the first 60 characters, trailing punctuation dropped.
        assert_eq!(
            snippet(
                "The channel of the shipping, as the order system records it, for each order line"
            ),
            "The channel of the shipping, as the order system records…"
        );
        assert_eq!(
            snippet("Zákazník, který si objednal zboží; jméno a příjmení, jak je zadal v e-shopu"),
            "Zákazník, který si objednal zboží; jméno a příjmení, jak je…"
        );
        // Exactly 60 characters are kept whole; one more word makes a cut with no space left.
        let sixty = "a".repeat(SNIPPET_CHARS);
        assert_eq!(snippet(&sixty), sixty);
        assert_eq!(snippet(&format!("{sixty} b")), format!("{sixty}…"));
    }

    #[test]
    fn script_json_escapes_what_ends_a_script() {
        let v = json!({"d": "</script><b>&\u{2028}\u{2029}"});
        let s = script_json(&v);
        assert_eq!(
            s,
            r#"{"d":"\u003c/script\u003e\u003cb\u003e\u0026\u2028\u2029"}"#
        );
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    /// A table `t` with one column per (name, description).
    fn one_table(name: &str, cols: &[(&str, &str)]) -> crate::site::TableReport {
        let mut r = input().tables[0].clone();
        r.spec.name = name.to_string();
        r.spec.description = format!("Table {name}");
        r.spec.columns = cols
            .iter()
            .map(|(n, d)| crate::content::ColumnSpec {
                name: n.to_string(),
                description: Some(d.to_string()),
                column_type: Some(crate::content::ColumnType::String),
            })
            .collect();
        r.synced = None;
        r.profile = None;
        r
    }

    #[test]
    fn index_of_the_site_input_is_script_safe_and_links_columns() {
        let mut inp = input();
        inp.tables.push(one_table(
            "zákazníci",
            &[
                (
                    "Zákazník",
                    "Jméno </script><script>alert(1)</script> zákazníka",
                ),
                ("顧客番号", "customer number"),
                ("Ørsted", "wind"),
                ("straße", "street"),
            ],
        ));
        let files = build(&inp).unwrap();
        let manifest = files
            .iter()
            .find(|f| f.path == "search/index.js")
            .expect("the manifest");
        for f in &files {
            assert!(!f.text.contains("</"), "{}: {}", f.path, f.text);
            assert!(!f.text.contains('<'), "{}", f.path);
        }
        let shard = |key: &str| {
            let f = files
                .iter()
                .find(|f| f.path == format!("search/{}", shard_file(key)))
                .unwrap_or_else(|| panic!("no shard {key}"));
            shard_json(&f.text)
        };
        // Every query form finds the column through the shard of its first letter.
        let ti = inp.tables.len() - 1;
        for (query, column) in [
            ("zakaznik", "Zákazník"),
            ("番号", "顧客番号"),
            ("orsted", "Ørsted"),
            ("strasse", "straße"),
            ("script", "Zákazník"),
        ] {
            let q = fold(query);
            let s = shard(&q.chars().take(1).collect::<String>());
            let words = s["w"].as_array().unwrap();
            let pos = words
                .iter()
                .position(|w| w.as_str().unwrap().starts_with(&q))
                .unwrap_or_else(|| panic!("{query}: no word in {s}"));
            let hit = s["h"][pos]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h.as_u64().unwrap() as usize)
                .find(|h| h % 4 == 3 && s["c"][h / 4][1] == column)
                .unwrap_or_else(|| panic!("{query}: {column} not in {s}"));
            assert_eq!(s["c"][hit / 4][0], ti);
        }
        // The `</script>` description survives as data.
        let s = shard("s");
        let rec = s["c"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r[1] == "Zákazník")
            .unwrap();
        assert_eq!(rec[3], "Jméno </script><script>alert(1)</script> zákazníka");
        // The manifest links the table by name; its path is the default one.
        let m: Value = serde_json::from_str(
            manifest
                .text
                .strip_prefix("brokerSearch.init(")
                .unwrap()
                .strip_suffix(");\n")
                .unwrap(),
        )
        .unwrap();
        assert_eq!(m["tables"][ti][0], "zákazníci");
        assert_eq!(m["tables"][ti].as_array().unwrap().len(), 2);
        assert!(m["shards"].as_array().unwrap().contains(&json!("z")));
        // Same input, same bytes.
        assert_eq!(build(&inp).unwrap(), files);
    }

    #[test]
    fn a_big_shard_is_split_and_keeps_the_best_entries_for_its_key() {
        let mut inp = input();
        inp.tables.clear();
        for t in 0..300 {
            let cols: Vec<(String, String)> = (0..20)
                .map(|c| {
                    (
                        format!("col_{c}_{t}"),
                        format!("Column count {c} of table {t}, computed carefully"),
                    )
                })
                .collect();
            let refs: Vec<(&str, &str)> =
                cols.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            inp.tables.push(one_table(&format!("t{t}"), &refs));
        }
        let files = build(&inp).unwrap();
        for f in &files {
            assert!(
                f.text.len() <= SHARD_BUDGET || f.path == "search/index.js",
                "{}",
                f.path
            );
        }
        let c = files.iter().find(|f| f.path == "search/c.js").unwrap();
        let c = shard_json(&c.text);
        assert_eq!(c["p"], 1, "the shard of `c` is partial");
        let co = files.iter().find(|f| f.path == "search/co.js").unwrap();
        assert!(shard_json(&co.text)["w"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == "col"));
    }
}
