"""Scope guard: prompt injection is refused; some turns must go to a person at once."""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from dataclasses import dataclass

_INJECTION = re.compile(
    r"(忽略|无视|忘记|忘掉|不要遵守|不用遵守|绕过|跳过|取消)(掉)?(你|您)?的?(之前|以前|先前|上面|以上|前面|所有|全部|一切|原有|原来|系统|现有|这些|那些)?的?(所有|全部)?的?(指令|规则|设定|提示|限制|要求|约束|身份)|"
    r"越狱|jailbreak|\bDAN\b|do anything now|developer mode|开发者模式|"
    r"ignore (all |any |the |your )?(previous |prior |above |earlier )?(instructions|rules|prompts?)|"
    r"disregard (all |any |the |your )?(previous |prior |above |earlier )?(instructions|rules|prompts?|guidelines)|"
    r"system prompt|系统提示词|提示词|系统指令|你的指令|你的设定|内部规则|(your|initial|hidden|original) prompt|"
    r"你现在是|从现在开始你是|you are now|act as (a|an|my|the)\b|pretend (to be|you)|扮演|假装你|"
    r"管理员(模式|权限|身份)|你是管理员|(you are|you're|as) (an? )?(admin|administrator)\b|admin mode|"
    r"整个知识库|全部知识库|知识库(的)?(全部|所有)|所有文档|全部资料|所有资料|原文全部|dump (the|your|all)\b|"
    r"其他(用户|客户|人)的(订单|工单|信息|电话|手机号|资料|数据|记录)|别人的(订单|工单|信息|电话|手机号)|other (users|customers)'? ?(data|orders?|tickets?|phone|information|details|records)|"
    r"编一个|随便编|瞎编|编造|胡编|make (one |it |something )?up|invent (a|an|one|some|the)\b|猜一个|随便说一个|"
    r"从现在(起|开始)|今后你|以后你(都|就|要)|你(必须|只能|都要)(说|回答)|都要说|你就回答|always (say|answer)|from now on|"
    r"重复你收到|第一条消息|代码块输出|原样(输出|返回|打印|复述|发给|复制)|verbatim|debug mode|^\s*system\s*:|<\|[a-z_]+\|>|"
    r"retrieved context|context chunks|假装你是|"
    r"(忽略|无视|忘记|忘掉)[^。?!]{0,10}的(全部|所有)?(指令|规则|设定|约束|限制)|"
    r"管理员[^。?!]{0,20}(授权你|解除|解锁)|解除(你的)?(所有|全部)?限制|"
    r"administrator[^.?!]{0,40}(unlock|authori[sz])|\bunlock (yourself|and|your)\b|"
    r"之前的(所有|全部)内容|(写|编|生成|拟)[^。?!]{0,4}冒充|冒充[^。?!]{0,12}(短信|链接|话术)",
    re.I,
)


# Attacks the first pattern misses, grouped by kind. Each is phrased so that an after-sales
# question cannot hit it by accident: a verb aimed at the bot's own rules, or a noun only the
# bot has (its prompt, its documents, other people's data). "忘了设定的密码", "drop my phone,
# does the policy cover it" and "reverse charging" must stay questions.
_INJECTION_MORE = re.compile(
    "|".join(
        (
            # override: verb then rules, or rules then "void"
            r"(推翻|摆脱|(不要|不用|不必|别|无需|停止)再?(遵守|遵循|理会|服从))[^。?!]{0,12}(指令|规则|设定|限制|约束|规定)|"
            r"(不用|不要|别)再?管[^。?!]{0,4}(公司|官方)?(规定|规则|政策|限制)",
            r"(之前|上面|前面|以上|刚才|原来|原有|所有)的?(那些)?(指令|规则|设定|要求|约束|限制|话)[^。?!]{0,6}(都|全部|全都|统统)?(忘了|忘掉|作废|不算数?|无效|失效)",
            r"(关闭|关掉|跳过|绕过|解除|停用|禁用|去掉)[^。?!]{0,6}((安全|内容)(策略|检查|规则|审核|过滤|限制|机制|设定)|过滤|审核|审查)|"
            r"(安全|内容)(策略|检查|规则|审核|过滤|限制|机制)[^。?!]{0,4}(已|被|已经)?(关闭|关掉|解除|停用|禁用|失效)",
            r"只(听|服从|听从)我的|你的新(任务|指令|身份|角色|规则)|新的?(指令|任务)(是|为|:)|(从这一?刻|从此刻|从此)(起|开始)?[,,]?\s*你|"
            r"(放下|抛开|丢掉|暂停|卸下)[^。?!]{0,6}(身份|设定|规则|限制)|(以下|下面)(是|为)新的?(系统)?(设定|指令|规则|提示)|"
            r"(没有|不受)(任何)?(规定|规则|限制)(约束|限制|管)你",
            r"\b(ignore|disregard|forget)\b (all |everything |the |what'?s |what is )?(above|previous|prior|earlier)\b|"
            r"\b(ignore|disregard|forget) everything\b|\b(everything|all) you (were|have been|'ve been) told\b|\bobey (me|the user|my)\b|"
            r"\b(developer|admin|system|god) override\b|\bwithout (any )?(safety|content) (checks|filters|rules|restrictions)\b|\bwithout (any )?(ethical |moral )?(guidelines|guardrails|restrictions|filters)\b|"
            r"\b(retrieved|raw) (chunks|passages|context|documents)\b|\b(developers?|creators?|operators?) (give|gave|told|tell) you\b",
            r"\b(ignore|disregard|forget|override|bypass|skip|abandon|stop following|don'?t follow|do not follow|no longer follow)\b"
            r"[^.?!]{0,40}\b(instructions?|rules|guidelines|guardrails|prompts?|directives|programming|constraints)\b",
            r"\b(new|updated|revised) (instructions?|rules|polic(y|ies)|directives?)\b[^.?!]{0,20}\b(override|replace|supersede)",
            r"system\s?(override|prompt)|"
            r"\b(disable|turn off|switch off|remove|deactivate|bypass)\b[^.?!]{0,10}\b(safety|content|security|moderation) (filters?|rules|guardrails|checks|restrictions|protocols?|polic(y|ies))\b|"
            r"\b(safety|content|moderation) (filters?|rules|guardrails|checks)\b[^.?!]{0,6}\b(off|disabled|removed)\b",
            # telling the bot how to shape its reply
            r"(在|于|放在|放到|写在|加在|附在)[^。?!]{0,8}(回答|回复|答案)的?(末尾|结尾|最后|开头|最前面|第一行)|"
            r"(回答|回复|答案)[^。?!]{0,4}以[^。?!]{1,40}(开头|结尾|收尾)|(写|放|加|附)在(第一行|最后一行)",
            r"\b(start|begin|end|finish|prefix|suffix|sign|conclude|close)\w*\s+(each|every|all|your)\s+(repl(y|ies)|answers?|responses?|messages?)\b|"
            r"\b(append|prepend|add|insert|attach|include)\b[^.?!]{0,40}\b(to|in)\s+(each|every|all)\s+(of\s+)?(your\s+)?(repl(y|ies)|answers?|responses?)\b|"
            r"\b(append|prepend)\b[^.?!]{0,40}\bto\s+(each|every|all)\s+(of\s+)?(your\s+)?(messages?|outputs?)\b",
            # role play, grandma, modes
            r"角色扮演|你不再是|你已经不是|你的(新)?(身份|角色|人设)(是|变成|改为|换成)|"
            r"(没有|不受|没有任何|不受任何|毫无)(限制|约束|规则|规定|审查|过滤)的(ai|人工智能|客服|助手|机器人|模型|版本)",
            r"(奶奶|外婆|姥姥|祖母|爷爷)[^。]{0,40}(哄我睡|睡前(会|总|常|都)?(给我)?(讲|念)|讲给我听|念给我听)|你(就|来)?(当|做|演|装成|扮成|变成)我的?(奶奶|外婆|姥姥|祖母)|"
            r"\bgrand(ma|mother|pa|father)\b[^.]{0,80}\b(bedtime|fall asleep|fell asleep|stor(y|ies))\b|\bbe my (dead |deceased |late )?grand",
            r"(切换|切到|进入|开启|启用|激活)(到|为)?\s*(调试|维护|测试|上帝|无限制|越狱|sudo|root|超级用户|管理员?|dan|开发者?)\s*模式|"
            r"(以后|今后|之后|接下来)[^。?!]{0,12}(一律|统统|全都|都要|只能)(回答|说|回复)|"
            r"\b(debug|god|admin|sudo|root|unrestricted|dan|jailbreak) mode\b|\bsudo\b|超级用户|超管|(最高|管理员|超级|开发者)权限|"
            r"\b(elevated|admin|superuser) (privileges|access|rights)\b|\bfull privileges\b|\bsuperuser\b",
            r"\brole-?play|\b(unfiltered|uncensored|unrestricted|jailbr(oken|eak))\b|"
            r"\b(ai|bot|assistant|model|chatbot|gpt|you|agent)\b[^.?!]{0,15}\b(with|has|have|having) no (rules|restrictions|limits|filters|guidelines|polic(y|ies)|censorship)\b|"
            r"\b(imagine|suppose|assume|let'?s say)( that)? you('re| are| were)\b|\byou('re| are) no longer (a|an|the|my)\b|"
            r"\bsimulate\b[^.?!]{0,20}\b(ai|assistant|bot|model|chatbot|gpt)\b",
            # claims of authority
            r"我是(你|你们|这个机器人|本系统|系统)的?(开发者|开发人员|程序员|管理员|运维|创造者|创建者|训练者|主人)|"
            r"\b(as|i am|i'?m) (your|the bot'?s|this bot'?s) (developer|creator|admin|administrator|owner|programmer|maker|operator)\b|"
            r"\bverified (staff|admin|employee|developer)\b|\bnote to (the )?(ai|assistant|bot|model|llm)\b",
            # the prompt, hidden settings, internals
            r"(初始|最初|原始|隐藏|底层|预设|原本)的?(指令|提示词?|口令)|(隐藏|初始)的?(设定|规则)|(内部|你的|系统|隐藏|秘密)的?(口令|暗号|密令|密钥)|"
            r"内部(维修)?(价格表|成本价?|变量|员工)|配置项|环境变量|逐字(复述|重复|输出|打印|发)|一字不差|"
            r"你(上面|之前|所有|全部)?的(所有|全部)?(设定|人设|提示词)|你被(规定|设定|设置|要求|限制|禁止|训练|告知)|内部守则|工作说明书|不能说的话|"
            r"\b(initial|original|hidden|secret|internal|underlying|preset|base|system) (instructions|prompt|passphrase)\b|\bhidden (system )?(rules|messages?|text|prompt|instructions)\b|"
            r"\byour (hidden |system |initial |original )+(messages?|prompt|instructions)\b|\bcontext window\b|"
            r"\b(first|initial|earliest) (message|instructions?|prompt) (that )?you (received|got|were given|saw)\b|"
            r"你的(规则|人设|提示词|原始指令)|你收到的(隐藏|所有|全部|系统)|你的?(数据库|后台)|员工内部价|内部价|\bstaff[- ]only\b|"
            r"\byour (internal|hidden|secret|system|original|initial) (guidelines|rules|instructions|prompt|polic(y|ies))\b|"
            r"\breveal (the |your |all |all the |all of )?(documents?|sources|context|instructions|prompt|rules)\b|"
            r"\binternal (costs?|prices?|pricing|codes?|service codes?|documents?|notes?)\b|\bsecret (repair |price )?(list|code|price)|\bpassphrase\b|"
            r"\b(reveal|show|print|tell me|repeat|summari[sz]e|translate|list|output|share|give me|display|dump|copy)\b[^.?!]{0,15}\byour (instructions|guidelines|directives|prompt|programming|configuration|config|system message)\b|"
            r"\b(rules|instructions|guidelines|prompt)\s+(were you|you were|you've been|you have been) (given|told|programmed)\b|"
            r"\b(text|messages?|everything|words|content|instructions) (above|before|preceding) (this|the|our) (conversation|chat|message)\b|\bword for word\b|\bconversation so far\b",
            # the knowledge base wholesale
            r"知识库[^。?!]{0,6}(所有|全部|完整|每一?条|文件|目录|清单|列表)|(所有|全部|完整)[^。?!]{0,3}(文件名|文档|源文件)|"
            r"(资料|文档|问答|知识)[^。?!]{0,4}(全部|所有|完整|整个)[^。?!]{0,3}(导出|输出|打印|列出|贴|展示)|"
            r"(文档|资料|文件|知识库|数据库)的?原文|参考资料|参考文档|检索到|上下文",
            r"\bknowledge\s?base\b|\b(documents?|docs|files|sources|faq entries|material|context|data|tickets|records)\s+(that\s+)?you\s+"
            r"(have access to|have been given|were given|retrieved|can see|can access|are using)\b|\braw context\b|\breference material\b|"
            r"\b(print|output|dump|list|show|reveal|copy|paste|display|export)\b[^.?!]{0,10}\ball (of )?your (documents|docs|files|sources|data|instructions|rules|faqs?)\b",
            # other people's data
            r"((那些|别的|其他|其它|所有|全部|其余|每个|每位)[^。?!]{0,6}(客户|用户|顾客|会员)|所有人|每个人|别人|他人|其他人)的"
            r"[^。?!]{0,4}(手机号|电话|号码|地址|姓名|名字|订单|工单|维修记录|记录)|"
            r"(上一个|上一位|前一个|前一位)(咨询|问|来)?[^。?!]{0,4}(用户|客户|顾客)|(那个|某个|另一个|另外一个)(用户|客户|顾客)的|(用户|客户|会员)(数据库|名单|信息表)",
            r"\bother (users?|customers?|clients|people)('s|s'|’s)?\s+(orders?|phone numbers?|numbers?|tickets?|data|info|information|addresses|records?|names|emails?|details|history)\b|"
            r"\b(someone|somebody) else'?s\b[^.?!]{0,10}\b(orders?|tickets?|data|info|number|address|records?|details)\b|"
            r"\b(history|records?|data|orders?|tickets?|details|info) of (someone|somebody|another (customer|user|person)|other (customers|users|people))\b|"
            r"\b(what did|what has|tell me what) (the )?(previous|last|other|another) (user|customer|caller)\b|"
            r"\b(tickets?|orders?|records?|data|details|numbers?|addresses|names) (from|of|for) (every|all|each|other) (customers?|users?)\b|"
            r"\b(user|customer|client) (database|db|list|table)\b|"
            r"\b(emails?|phones?|addresses|numbers|names|details)\b[^.?!]{0,20}\bof (people|customers|users|everyone) who\b|"
            r"\b(conversation|chat) (history|logs?|transcripts?) of\b|\b(chats?|conversations?) (you had )?with (another|other) (customers?|users?)\b|"
            r"\b(address|phone|number|name|email|details) of the (customer|user|client)\b(?! service| support| care)",
            # making facts up
            r"捏造|杜撰|虚构|伪造|(没有资料|资料里?没有|知识库里?没有|资料里?查不到)[^。?!]{0,6}(也没关系|也要|也得|就编|就猜|就随便|就估|就说)|不知道就(编|猜|随便|估|瞎)|"
            r"(就算|即使|哪怕)你[^。?!]{0,6}(不确定|不知道|不清楚|没有资料|查不到|没把握)|(错了|不准|不对)也没关系|凭感觉|(不用|别|不要)查资料",
            r"\bfabricat|\bmade[- ]up\b|\b(come up with|make up|invent)\b[^.?!]{0,30}\b(number|price|hotline|phone|policy|answer|period|figure|address)\b|"
            r"\b(don'?t|do not|never) (say|tell me) (that )?you (don'?t|do not) know\b|\b(please|just|you can|can you|could you) guess (a|an|the|some)\b|"
            r"\beven if (it'?s|it is|that'?s|this is) not in (your|the)\b|\beven if you (don'?t|do not) know\b",
            # encodings and obfuscation
            r"(解码|解密|翻译|倒过来读|反过来读|倒着读|转换)[^。?!]{0,6}(照做|执行|照着做)|(倒过来|反过来|倒着)(读|念)|"
            r"(用|以)\s*(base64|rot13|十六进制|hex|摩斯|unicode)\s*(编码|格式)?(输出|回复|回答)",
            r"\b(decode|decrypt|unscramble|rot13|base64)\b[^.?!]{0,20}\b(follow|obey|execute|comply|do it|run it)\b|"
            r"\b(read|write|spell|say)\w* (this |it |that )?backwards\b|<!--|```\s*system",
        )
    ),
    re.I,
)

# Checked on text that was reversed, ROT13-rotated or stripped of spaces: only long, specific
# phrases, since a transform of an ordinary question must not land on a short keyword.
_INJECTION_STRONG = re.compile(
    r"(ignore|disregard|forget)\s?(all\s?|any\s?|the\s?|your\s?)?(previous\s?|prior\s?|above\s?|earlier\s?)?(instructions|rules|prompts?)|"
    r"system\s?prompt|developer\s?mode|jailbreak|knowledge\s?base|"
    r"(忽略|无视|忘记)(掉)?(你|您)?的?(之前|以前|先前|上面|以上|前面|所有|全部|一切|系统)?的?(所有|全部)?的?(指令|规则|设定|提示)|"
    r"系统提示词|提示词|知识库|开发者模式|越狱|"
    r"tishici|xitongtishi|hulve|hulue|zhishiku|guanliyuan|kaifazhemoshi",
    re.I,
)

_SPACED = re.compile(r"(?<![^\W_])(?:[^\W_][ \-_.·*/|]){3,}[^\W_](?![^\W_])")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|&#(\d{2,6});|&#x([0-9a-fA-F]{2,6});")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_LEET_WORD = re.compile(r"\b(?=\w*[a-z])(?=\w*[0-9])\w+\b", re.I)
_LEET = str.maketrans("013457@$", "oieastas")


def _unescape(m: re.Match[str]) -> str:
    hexa, byte, dec, hexent = m.groups()
    cp = int(hexa or byte or hexent, 16) if not dec else int(dec)
    return chr(cp) if cp < 0x110000 else m.group()


def _base64_payloads(text: str) -> list[str]:
    """Readable text hidden in base64 runs (a question has none; an attack may)."""
    out = []
    for m in _BASE64.finditer(text):
        blob = m.group().rstrip("=")
        blob += "=" * (-len(blob) % 4)
        try:
            raw = base64.b64decode(blob.replace("-", "+").replace("_", "/"), validate=True)
            decoded = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        if decoded and sum(c.isprintable() for c in decoded) >= 0.9 * len(decoded):
            out.append(decoded)
    return out


def _readings(text: str) -> tuple[list[str], list[str]]:
    """The ways an attack may be written: (plain readings, transformed readings)."""
    nfkc = unicodedata.normalize("NFKC", text)
    plain = [text, nfkc]
    plain.append(
        re.sub(r"\s{2,}", " ", _SPACED.sub(lambda m: re.sub(r"[ \-_.·*/|]", "", m.group()), nfkc))
    )
    if _ESCAPE.search(nfkc):
        plain.append(_ESCAPE.sub(_unescape, nfkc))
    plain += _base64_payloads(nfkc)
    plain.append(_LEET_WORD.sub(lambda m: m.group().translate(_LEET), nfkc))
    transformed = [re.sub(r"\s+", "", nfkc), nfkc[::-1], codecs.encode(nfkc, "rot13")]
    return list(dict.fromkeys(plain)), transformed  # most readings coincide: check each once


def is_injection(text: str) -> bool:
    """True for attempts to override instructions, extract the prompt or knowledge base, or make up facts."""
    plain, transformed = _readings(text)
    if any(_INJECTION.search(t) or _INJECTION_MORE.search(t) for t in plain):
        return True
    return any(_INJECTION_STRONG.search(t) for t in transformed)


@dataclass(frozen=True)
class Trigger:
    category: str  # safety | complaint | billing | human
    priority: int  # 1 (most urgent) .. 4
    matched: str


# Order matters: the first match decides the category (safety outranks everything).
_TRIGGERS: tuple[tuple[str, int, re.Pattern[str]], ...] = (
    (
        "safety",
        1,
        re.compile(
            r"鼓包|冒烟|起火|着火|失火|烧起来|爆炸|炸了|漏电|触电|被电|电到我|电了一下|麻手|发麻|电击|烧焦|焦味|焦糊|糊味|"
            r"火花|漏水|漏气|燃气味|煤气味|smok|fire|flame|explod|swell|swollen|bulg|electric shock|shocked|sparks|"
            r"burning smell|gas smell|smell of gas|leaking water|water leak",
            re.I,
        ),
    ),
    (
        "complaint",
        2,
        re.compile(
            r"12315|消协|消费者协会|媒体|曝光|记者|律师|起诉|法院|告你们|投诉你们|投诉.{0,8}(三次|多次|好几次|没人管|没用)|"
            # repeated failed repairs and plain anger are complaints too, whatever the product
            r"我要投诉|(修|换|返修)了(两|三|四|五|几|好几|很多|多)(次|回|遍).{0,12}(还|都|没|不|又)|"
            r"什么破|破售后|垃圾售后|垃圾服务|给(我)?(个)?说法|气死|太差劲|"
            r"(电话|热线|客服).{0,6}(没人接|打不通|一直占线|没人理|不接)|"
            r"差评|lawyer|\bsue\b|lawsuit|media|journalist|report you",
            re.I,
        ),
    ),
    (
        "billing",
        2,
        re.compile(
            r"退款|退钱|退回来|退给我|多收|多扣|扣款|扣了两次|重复扣|乱收费|收费不合理|我不认|赔偿|赔钱|(必须|得|要|应该)赔|账单不对|"
            r"refund|overcharg|charged twice|double.?charged|money back|compensat",
            re.I,
        ),
    ),
    (
        "human",
        3,
        re.compile(
            r"转人工|接人工|找人工|要人工|转接人工|(我要|我想|给我|帮我|请|让)(找|转|接|叫)?(人工|真人|客服人员)|"
            r"接真人|找真人|真人客服|活人|不要机器人|别跟机器人|听不懂|(找|叫|见)(你们)?(领导|经理|主管|负责人|总部)|"
            r"领导出来|^\s*人工(客服|服务)?\s*[!!。.]*\s*$|\bhuman\b|real person|live agent|"
            r"(speak|talk) (to|with) (a |an )?(person|someone|somebody|agent|manager|supervisor)|\bsupervisor\b",
            re.I,
        ),
    ),
)


# "可以去12315投诉吗?" asks how to complain; it is not itself a complaint to hand over.
_ASKS_HOW = re.compile(
    r"(可以|能不能|能否|怎么|如何|怎样|哪里|在哪|去哪|哪儿|应该).{0,12}(投诉|维权|反映|起诉|退款|退货)|"
    r"(投诉|维权|起诉|乱收费|多收费?).{0,10}(吗|么|呢|怎么办|咋办|多久|多长|时效|期限|拖)\s*[??]?\s*$|"
    # "我要投诉授权店,打哪个电话?" asks for the channel
    r"(投诉|维权).{0,15}(打哪个|哪个电话|什么电话|打什么|找谁|找哪|哪个部门|什么渠道|哪个渠道|途径)|"
    # "退款多久到账?" asks about the refund policy; "我要退款" demands one.
    r"(退款|退钱|退货).{0,8}(多久|多长时间|几天|几个工作日|什么时候|何时|到账|流程|原路|规则|政策|退到哪|到哪|去哪)|"
    r"\b(how long|when)\b.{0,30}\brefund|\brefund\b.{0,20}\b(take|policy|process|arrive)"
)


_HAN = re.compile(r"[\u4e00-\u9fff]{2}")


def _inverted(word: str, low: str) -> re.Match[str] | None:
    """A two-character Chinese hazard said the other way round: "进水" as "水倒进去了",
    "鼓包" as "电池包鼓起来"."""
    if not _HAN.fullmatch(word):
        return None
    return re.search(f"{re.escape(word[1])}.{{0,3}}{re.escape(word[0])}", low)


def escalation_trigger(
    text: str, safety_words: tuple[str, ...] = (), escalation_words: tuple[str, ...] = ()
) -> Trigger | None:
    """The reason this turn must go to a person now, if any. `safety_words` and
    `escalation_words` are the company's own (its profile): a hazard of its products, say."""
    low = text.lower()
    extra = next((w for w in safety_words if w.lower() in low), None)
    if extra is None:
        extra = next((m.group(0) for w in safety_words if (m := _inverted(w, low))), None)
    if extra:
        return Trigger("safety", 1, extra)
    for category, priority, pattern in _TRIGGERS:
        m = pattern.search(text)
        if m and not (category in ("complaint", "billing") and _ASKS_HOW.search(text)):
            return Trigger(category, priority, m.group(0))
    extra = next((w for w in escalation_words if w.lower() in low), None)
    return Trigger("complaint", 2, extra) if extra else None
