//! Traditional Chinese characters made simplified, for the few hundred characters that
//! customers' questions to a shop use most (opening, closing, time, store, price, order,
//! return, person, booking, food and drink): a business that wrote its phrases in one
//! script matches customers writing the other. Not a full converter (that needs a
//! dictionary of several thousand characters and of whole words); a character not listed
//! is left as it is.

/// Traditional to simplified, sorted by the traditional character.
const TABLE: &[(char, char)] = &[
    ('來', '来'),
    ('個', '个'),
    ('們', '们'),
    ('傳', '传'),
    ('價', '价'),
    ('優', '优'),
    ('兒', '儿'),
    ('務', '务'),
    ('區', '区'),
    ('員', '员'),
    ('問', '问'),
    ('啟', '启'),
    ('單', '单'),
    ('嗎', '吗'),
    ('嘗', '尝'),
    ('嚐', '尝'),
    ('塊', '块'),
    ('壞', '坏'),
    ('妳', '你'),
    ('專', '专'),
    ('對', '对'),
    ('層', '层'),
    ('帳', '账'),
    ('幣', '币'),
    ('幫', '帮'),
    ('幾', '几'),
    ('廳', '厅'),
    ('張', '张'),
    ('後', '后'),
    ('從', '从'),
    ('應', '应'),
    ('戶', '户'),
    ('換', '换'),
    ('擇', '择'),
    ('時', '时'),
    ('書', '书'),
    ('會', '会'),
    ('東', '东'),
    ('條', '条'),
    ('業', '业'),
    ('樓', '楼'),
    ('樣', '样'),
    ('檸', '柠'),
    ('歡', '欢'),
    ('沒', '没'),
    ('涼', '凉'),
    ('湯', '汤'),
    ('為', '为'),
    ('無', '无'),
    ('熱', '热'),
    ('營', '营'),
    ('現', '现'),
    ('產', '产'),
    ('盃', '杯'),
    ('碼', '码'),
    ('禮', '礼'),
    ('種', '种'),
    ('節', '节'),
    ('約', '约'),
    ('絡', '络'),
    ('給', '给'),
    ('網', '网'),
    ('線', '线'),
    ('與', '与'),
    ('舖', '铺'),
    ('華', '华'),
    ('葷', '荤'),
    ('蘋', '苹'),
    ('處', '处'),
    ('號', '号'),
    ('蝦', '虾'),
    ('裏', '里'),
    ('裝', '装'),
    ('裡', '里'),
    ('訂', '订'),
    ('話', '话'),
    ('該', '该'),
    ('認', '认'),
    ('語', '语'),
    ('說', '说'),
    ('談', '谈'),
    ('請', '请'),
    ('謝', '谢'),
    ('識', '识'),
    ('讓', '让'),
    ('豐', '丰'),
    ('豬', '猪'),
    ('貨', '货'),
    ('貴', '贵'),
    ('買', '买'),
    ('費', '费'),
    ('賣', '卖'),
    ('質', '质'),
    ('車', '车'),
    ('這', '这'),
    ('連', '连'),
    ('週', '周'),
    ('進', '进'),
    ('運', '运'),
    ('達', '达'),
    ('遞', '递'),
    ('遠', '远'),
    ('遲', '迟'),
    ('選', '选'),
    ('還', '还'),
    ('邊', '边'),
    ('郵', '邮'),
    ('鋪', '铺'),
    ('錢', '钱'),
    ('錯', '错'),
    ('鐘', '钟'),
    ('鑑', '鉴'),
    ('鑒', '鉴'),
    ('長', '长'),
    ('門', '门'),
    ('閉', '闭'),
    ('開', '开'),
    ('間', '间'),
    ('關', '关'),
    ('陽', '阳'),
    ('際', '际'),
    ('雞', '鸡'),
    ('離', '离'),
    ('電', '电'),
    ('頁', '页'),
    ('預', '预'),
    ('題', '题'),
    ('顧', '顾'),
    ('飯', '饭'),
    ('飲', '饮'),
    ('餅', '饼'),
    ('館', '馆'),
    ('體', '体'),
    ('鬆', '松'),
    ('魚', '鱼'),
    ('麥', '麦'),
    ('麵', '面'),
    ('麼', '么'),
    ('點', '点'),
];

/// `text` with the traditional characters of [`TABLE`] made simplified.
pub fn simplify(text: &str) -> String {
    text.chars()
        .map(|c| {
            TABLE
                .binary_search_by(|(t, _)| t.cmp(&c))
                .map_or(c, |i| TABLE[i].1)
        })
        .collect()
}

/// Whether `text` has a character that [`simplify`] changes (most texts have none).
pub fn has_traditional(text: &str) -> bool {
    text.chars()
        .any(|c| TABLE.binary_search_by(|(t, _)| t.cmp(&c)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_converts() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(simplify("營業時間"), "营业时间");
        assert_eq!(simplify("营业 hours"), "营业 hours");
        assert!(!has_traditional("营业时间"));
    }
}
