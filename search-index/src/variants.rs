//! How workers write the same thing differently, folded into one form before texts are compared for
//! duplicates: full-width letters, digits and punctuation (a phone's Chinese keyboard) become half-width;
//! traditional characters that plant texts use become simplified; numbers written in Chinese become digits
//! (三十 → 30, 二百五十 → 250, 一点五 → 1.5); letters become lower case.

use std::{collections::HashMap, sync::LazyLock};

/// Traditional → simplified, for the characters of plant and energy texts (and the common function
/// characters around them). Each pair is one traditional character and its simplified form.
const TRADITIONAL: &str =
    "電电節节熱热爐炉氣气鋼钢鐵铁機机設设備备廠厂輸输運运壓压縮缩風风溫温廢废環环減减處处濾滤閥阀門门損损\
變变頻频調调燈灯鍋锅餘余發发車车間间線线產产業业煉炼軋轧噸吨萬万億亿時时幾几並并從从當当對对進进過过還还這这個个們们\
為为與与後后會会來来將将應应實实現现開开關关問问題题優优項项費费價价錢钱經经濟济據据測测計计劃划質质檢检驗验裝装\
統统級级動动傳传導导帶带離离極极樣样圖图紙纸層层區区輛辆鑄铸鍛锻銲焊齒齿輪轮軸轴潤润鏈链條条馬马達达氫氢燒烧結结礦矿\
塵尘煙烟脫脱窯窑乾干卻却淨净給给補补償偿專专組组織织員员師师長长讓让認认識识說说話话請请議议論论讀读寫写標标準准\
規规範范護护維维換换舊旧雜杂難难點点櫃柜網网絡络纜缆約约儲储庫库單单雙双頭头邊边體体積积蓋盖縫缝臺台蘇苏鹽盐鋁铝\
銅铜鋅锌錳锰鉻铬鎳镍礬矾煉炼瓦瓦傷伤險险災灾報报數数據据歸归權权啟启閉闭兩两滿满總总無无著着麼么樣样幫帮許许夠够\
確确級级續续戶户廣广東东陳陈楊杨趙赵劉刘黃黄張张馮冯鄭郑鍵键盤盘壞坏虧亏損损舉举辦办務务園园圍围圓圆團团勞劳創创\
雲云電电濕湿漲涨貴贵賣卖買买負负責责貨货資资質质賽赛導导態态懸悬擴扩據据擾扰攪搅擊击擋挡揮挥換换撥拨掛挂搖摇軟软\
硬硬鐘钟錶表鏡镜鍍镀銷销鎖锁鑽钻鑄铸鋪铺鋸锯鏟铲錘锤韌韧頂顶順顺預预領领頸颈額额顆颗驅驱驗验體体髮发鬆松魚鱼鳥鸟\
麥麦黨党齊齐龍龙";

static FOLD: LazyLock<HashMap<char, char>> = LazyLock::new(|| {
    let chars: Vec<char> = TRADITIONAL.chars().filter(|c| !c.is_whitespace() && *c != '\\').collect();
    chars.chunks_exact(2).map(|p| (p[0], p[1])).collect()
});

fn digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' | '壹' => 1,
        '二' | '两' | '贰' => 2,
        '三' | '叁' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

fn unit(c: char) -> Option<u64> {
    Some(match c {
        '十' | '拾' => 10,
        '百' | '佰' => 100,
        '千' | '仟' => 1_000,
        '万' => 10_000,
        _ => return None,
    })
}

/// The value of a run of Chinese numerals (`三十五`, `二百零五`, `一万二千`, or digit by digit `一九九八`).
fn chinese_number(run: &[char]) -> Option<u64> {
    if run.iter().all(|c| digit(*c).is_some()) {
        return run.iter().try_fold(0u64, |n, c| n.checked_mul(10)?.checked_add(digit(*c)?));
    }
    let (mut total, mut section, mut pending) = (0u64, 0u64, None::<u64>);
    for &c in run {
        if let Some(d) = digit(c) {
            pending = Some(d);
        } else if unit(c) == Some(10_000) {
            let n = match pending.take() {
                Some(n) => n,
                None if section == 0 && total == 0 => 1,
                None => 0,
            };
            total = total.checked_add(section)?.checked_add(n)?.checked_mul(10_000)?;
            section = 0;
        } else if let Some(u) = unit(c) {
            section = section.checked_add(pending.take().unwrap_or(1).checked_mul(u)?)?;
        } else {
            return None;
        }
    }
    total.checked_add(section)?.checked_add(pending.unwrap_or(0))
}

/// `text` folded: see the module's documentation.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text
        .chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => *FOLD.get(&c).unwrap_or(&c),
        })
        .flat_map(char::to_lowercase)
        .collect();
    let mut i = 0;
    while i < chars.len() {
        let is_num = |c: char| digit(c).is_some() || unit(c).is_some();
        if is_num(chars[i]) {
            let mut j = i;
            while j < chars.len() && is_num(chars[j]) {
                j += 1;
            }
            // 千瓦, 百米: a trailing 千 or 百 before a unit of measure is its prefix, not part of the number.
            if j - i >= 2
                && matches!(chars[j - 1], '千' | '百')
                && chars.get(j).is_some_and(|c| "瓦克米帕伏焦卡".contains(*c))
            {
                j -= 1;
            }
            let run = &chars[i..j];
            // One numeral alone is too often part of a word (统一, 十分): only runs of two or more.
            let decimal = chars.get(j) == Some(&'点') && chars.get(j + 1).is_some_and(|c| digit(*c).is_some());
            let number = if run.len() >= 2 || decimal { chinese_number(run) } else { None };
            match number {
                Some(n) => {
                    out.push_str(&n.to_string());
                    // 一点五 → 1.5
                    if chars.get(j) == Some(&'点') && chars.get(j + 1).is_some_and(|c| digit(*c).is_some()) {
                        out.push('.');
                        j += 1;
                        while j < chars.len() && digit(chars[j]).is_some() {
                            out.push(char::from_digit(digit(chars[j]).unwrap_or(0) as u32, 10).unwrap_or('0'));
                            j += 1;
                        }
                    }
                    i = j;
                    continue;
                }
                None => {
                    out.extend(run);
                    i = j;
                    continue;
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_fold_to_one_form() {
        assert_eq!(fold("空壓機洩漏"), "空压机洩漏");
        assert_eq!(fold("ＡＢＣ１２３，"), "abc123,");
        assert_eq!(fold("节电三十五万千瓦时"), "节电350000千瓦时");
        assert_eq!(fold("二百五十吨"), "250吨");
        assert_eq!(fold("二百零五"), "205");
        assert_eq!(fold("一九九八年"), "1998年");
        assert_eq!(fold("一点五兆瓦"), "1.5兆瓦");
        assert_eq!(fold("十二台"), "12台");
        assert_eq!(fold("十分严重"), "十分严重");
        assert_eq!(fold("统一管理"), "统一管理", "一 alone is a word, not a number");
        assert_eq!(fold("一万二千"), "12000");
    }
}
