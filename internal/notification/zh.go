package notification

import "fmt"

// statusZh names the statuses as the resident app does in Traditional
// Chinese.
var statusZh = map[string]string{
	"SUBMITTED": "已提交", "ACCEPTED": "已受理", "ASSIGNED": "已派工", "IN_PROGRESS": "處理中",
	"COMPLETED": "已完成", "CONFIRMED": "已確認", "CLOSED": "已結案", "CANCELLED": "已取消",
}

// TitleZh is a notice's title in Traditional Chinese, by its kind, for the
// request numbered number whose status is now status; promised is the
// promise time as the property's clock reads it (for ACCEPTED).
func TitleZh(kind Kind, number, status, promised string) string {
	switch kind {
	case Assigned:
		return fmt.Sprintf("工單 %s 已交給你", number)
	case StatusChanged:
		if zh, ok := statusZh[status]; ok {
			return fmt.Sprintf("%s 狀態更新：%s", number, zh)
		}
		return fmt.Sprintf("%s 狀態已更新", number)
	case Warning:
		return fmt.Sprintf("%s 即將到期", number)
	case Breach:
		return fmt.Sprintf("%s 已超出承諾時間", number)
	case Escalation:
		return fmt.Sprintf("%s 已升級處理", number)
	case Urge:
		return fmt.Sprintf("客戶正在催促 %s", number)
	case Pool:
		return fmt.Sprintf("%s 可供搶單", number)
	case FollowUp:
		return fmt.Sprintf("%s 需要主任回訪", number)
	case Message:
		return fmt.Sprintf("%s 有新訊息", number)
	case Accepted:
		return fmt.Sprintf("%s 已受理，承諾於 %s 前完成", number, promised)
	case Progress:
		return fmt.Sprintf("%s 有新進展", number)
	case RatingReplied:
		return fmt.Sprintf("我們已回覆你對 %s 的評價", number)
	}
	return number
}
