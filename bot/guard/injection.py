"""Injection guard: attempts to override the bot's rules, take on a persona, plant facts, reach
other people's records or hide one side of a conflict are refused before retrieval."""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata

from bot.understand import simplified

_INJECTION = re.compile(
    r"(忽略|无视|忘记|忘掉|不要遵守|不用遵守|绕过|跳过|取消)(掉)?(你|您)?的?(之前|以前|先前|上面|以上|前面|所有|全部|一切|原有|原来|系统|现有|这些|那些)?的?(所有|全部)?的?(指令|规则|设定|提示|限制|要求|约束|身份)|"
    r"越狱|jailbreak|\bDAN\b|do anything now|developer mode(?! (on|in) (my|the) (phone|device|settings))|"
    # the phone has a 开发者模式 in its settings too: "开发者模式怎么关掉" asks about it
    r"(?<!设置里的)(?<!设置中的)(?<!设置里)(?<!手机的)(?<!手机)开发者模式(?![^。?!]{0,10}(怎么|如何|在哪|哪里|关闭|关掉|打开了|开启了|有什么用|是什么))|"
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
    r"system\s?prompt|developer\s?mode(?!\s?(on|in)\s?(my|the))|jailbreak|knowledge\s?base|"
    r"(忽略|无视|忘记)(掉)?(你|您)?的?(之前|以前|先前|上面|以上|前面|所有|全部|一切|系统)?的?(所有|全部)?的?(指令|规则|设定|提示)|"
    r"系统提示词|提示词|知识库|(进入|开启|切换到|启用)开发者模式(?!(怎么|如何|了))|越狱|"
    r"tishici|xitongtishi|hulve|hulue|zhishiku|guanliyuan|kaifazhemoshi",
    re.I,
)


# Round two of the red team: override preambles, personas, fake notices, polite lookups of
# other people's records, one side of a known conflict. Same rule as above: each branch
# needs a part only an attack has. The bot's rules declared void ("以上规则作废", while
# "延保政策取消了吗" asks about a product rule), a persona it is told to take, a notice it is
# told to adopt, someone else's records, an order to hide the other side of a conflict
# ("两种说法哪个对" still asks). Phone settings share the words: "所有后台限制都解除了",
# "暗黑模式", "all settings were removed", the heater's "filters" stay questions.

# Not a question about the rule: "之前的保修规定失效了吗?" asks; "以上规则作废。" orders.
_NOT_ASKED = r"(?!\s*(的?问题)?\s*了?\s*(吗|么|嘛|呢|没|不|[??]))"
_NOT_ASKED_EN = r"(?![^.!:;]{0,40}\?)"
_RULES = r"(规则|规矩|规定|守则|准则|设定|限制|约束|指令|条款|条条框框|禁令|底线|审查|审核)"
# Product rules a customer may ask about, kept off the front of `_RULES`.
_PRODUCT_RULE = (
    r"(?<!保修)(?<!三包)(?<!退换)(?<!售后)(?<!延保)(?<!活动)(?<!换新)(?<!退货)(?<!维修)"
    r"(?<!收费)(?<!价格)(?<!网点)(?<!后台)(?<!应用)(?<!权限)(?<!充电)"
)
# "取消", "解除", "重置" are what a customer does to a setting; these are said of a rule.
_VOID = r"(作废|废止|废除|失效|无效|过期|过时|不再(适用|有效|生效|算数?|管用|成立)|不算数?|不作数)"
_RULES_EN = r"(rules|restrictions|guidelines|guardrails|policies|constraints|limitations|instructions|directives|boundaries)"
_VOID_EN = (
    r"(void|null|obsolete|expired|lifted|removed|suspended|revoked|cancell?ed|rescinded|invalid(ated)?|overridden|superseded|"
    r"no\s+longer\s+(apply|applies|valid|in\s+effect|in\s+force|active|binding)|(do|does)(n'?t|\s+not)\s+apply)"
)
_PRINTED = r"(?!\s+(in|on|from|of)\s+(the|my|this)\s+(manual|box|booklet|guide|leaflet|app|website|site|card)\b)"

_OVERRIDE = re.compile(
    "|".join(
        (
            r"(以上|上面|之前|以前|先前|前面|原来|原有|原先|旧|老|现行|现有|默认|既有|那套|本来|所有|全部|一切|你的|你那些|给你的|对你的|客服)"
            rf"[^。?!]{{0,6}}{_PRODUCT_RULE}{_RULES}[^。?!]{{0,10}}{_VOID}{_NOT_ASKED}",
            rf"新的?(规则|指令|设定|守则)(已经?|正式|现在|从现在起)?(生效|启用|开始执行|上线){_NOT_ASKED}",
            r"(本次|这次|此次|当前|这个|本)(会话|对话|聊天)[^。?!]{0,8}(不再适用|不适用|失效|无效|作废|不受(任何)?限制|没有(任何)?限制|解除|取消)",
            # "answer everything"
            rf"(什么|任何|所有|一切|全部|啥)(问题|事情?|东西|内容|话)?都(可以|能|敢)(回答|答|说|讲|回复|告诉我)(?!不|没|得?上|出){_NOT_ASKED}",
            rf"(请|可以|你可以|你要|必须|现在|就|放开|尽管|务必)你?(回答|答复|回复)(一切|任何|所有|全部)的?(问题)?{_NOT_ASKED}",
            rf"(不受|没有|不加|毫无|不设|无)(任何)?(限制|约束|保留|顾忌|审查|过滤|底线)(地(回答|回复|作答|说|讲|告诉|聊)|(回答|回复|作答)){_NOT_ASKED}",
            r"(放开|敞开|尽情)地?(回答|说|作答|讲)|无所不答|知无不言",
            # English: the bot's rules void, then "answer anything"
            rf"\b(your|the\s+above|above|those|these|all\s+(of\s+)?(your|the)\s+(previous|prior|earlier))\s+(\w+\s+)?{_RULES_EN}\b{_PRINTED}"
            rf"[^.?!]{{0,25}}?\b(are\s+|is\s+|were\s+|have\s+been\s+|has\s+been\s+|now\s+)*(all\s+|officially\s+)?({_VOID_EN}|outdated)\b{_NOT_ASKED_EN}",
            r"\b(old|previous|prior|earlier|original|existing|current|usual|standard|default|former)\s+"
            rf"(?!warranty\b|trade|return|refund|repair|price|pricing|insurance|service|shipping|delivery)(\w+\s+)?{_RULES_EN}\b{_PRINTED}"
            rf"[^.?!]{{0,25}}?\b(are\s+|is\s+|were\s+|have\s+been\s+|has\s+been\s+|now\s+)*(all\s+|officially\s+)?{_VOID_EN}\b{_NOT_ASKED_EN}",
            r"\b(consider|treat|deem)\b[^.?!]{0,40}\b(null and void|void|obsolete|invalid|cancell?ed|suspended)\b|\bnull and void\b",
            r"\b(answer|respond to|reply to)\s+(everything|anything|any\s+(and\s+all\s+)?questions?|all\s+(of\s+)?(my\s+)?questions|whatever)\b"
            + _NOT_ASKED_EN,
            r"\b(answer|respond|reply|speak|talk|tell me)\w*\b[^.?!]{0,30}\bwithout\s+(any\s+)?(limits|limitations|restrictions|filters|filtering|censorship|rules|boundaries|constraints|holding back)\b",
            r"\b(nothing|no\s+(topic|question|subject)s?)\s+(is|are)\s+off[- ]limits\b|"
            r"\b(rules|restrictions|guardrails|guidelines|constraints)\s+(were|have\s+been|are|got)\s+(now\s+)?(lifted|removed|suspended|disabled|turned\s+off|switched\s+off|dropped)\b"
            + _NOT_ASKED_EN,
            r"\bnew\s+(rules|instructions|directives|guidelines)\b[^.?!]{0,15}\b(are|is)\s+(now\s+)?(in\s+effect|in\s+force|active|effective|live)\b",
        )
    ),
    re.I,
)

# Any voice for these: "以工程师的口吻说". For "身份", "立场" only an insider: "核实工程师的身份" asks.
_PERSON = (
    r"(内部员工|内部人员|内部人士|内部人|知情人士?|知情者|业内人士|圈内人|内鬼|自己人|前员工|老员工|离职员工|员工|"
    r"工程师|维修师傅|技术员|店员|客服主管|管理层|高管|总部的人)"
)
_INSIDER = r"(内部员工|内部人员|内部人士|内部人|内部工程师|知情人士?|知情者|业内人士|圈内人|内鬼|自己人|前员工|离职员工|老员工|内部的人|总部的人)"
_PERSONA = re.compile(
    "|".join(
        (
            rf"(以|用|拿|作为)[^。?!,,]{{0,12}}{_PERSON}的?(口吻|语气|口气)",
            rf"(?<![可所难得予加足])(以|用|拿|站在|作为|按照?)[^。?!,,]{{0,12}}{_INSIDER}的?(身份|身分|名义|立场|视角|角度)(?!证)",
            r"(假如|假设|想象|设想|如果|要是)你(是|就是|现在是|成为|变成)[^。?!,,]{0,8}(内部|员工|知情|内鬼|自己人|离职|没有(任何)?(限制|审查|审核|规则)|不受|无限制)",
            r"(没有|不受|毫无|无|不设)(任何)?(限制|约束|规则|规定|审查|审核|过滤|禁忌|底线|道德)的[^。?!,,]{0,4}(ai|人工智能|客服|助手|机器人|模型|版本|机器|bot|gpt|角色|人格)",
            r"(无限制|不受限|无约束|无审查|无审核|破限|越狱|邪恶)(版|模式|人格|助手|ai|机器人|客服)",
            r"员工价|员工内部价|自己人的?价",
            r"\b(speak|talk|answer|respond|reply|write|act|behave|tell me|explain)\w*\b[^.?!]{0,12}\b(as|like)\s+(an?\s+|the\s+|one\s+|some\s+)?(\w+\s+){0,2}"
            r"(insider|employee|staff member|ex-employee|former employee|whistleblower)s?\b",
            r"\b(from|in|through)\s+the\s+(point of view|perspective|eyes|shoes|viewpoint)\s+of\s+(an?\s+|the\s+)?(\w+\s+){0,3}"
            r"(insider|employee|staff|technician|engineer|worker|developer|manager)s?\b",
            r"\boff the record\b|\b(staff|employee|insider)\s+(price|prices|pricing|rates?|price list)\b|\bwhat\s+(do|does)\s+(staff|employees|insiders)\s+pay\b",
            r"\b(play|take on|assume|adopt)\s+(the\s+)?(role|part|persona|character)\s+of\b|\b(stay|remain|staying)\s+in\s+character\b",
            r"\b(no[- ]limits?|limitless|unbound|unchained|uncensored|unfiltered|unrestricted|evil|rogue|jailbroken)[- ]?(gpt|bot|ai|assistant|chatbot|model|persona)\b",
            # a sentence dictated to the bot to screenshot: "你就说一句“换屏免费”"
            r"(你|请你?)(就|只要|只需|直接|给我|帮我)?(说|讲|念|写|回复|回答)(一句|一遍)[::,,]?\s*[“\"「『]|跟着我(说|念|读|写)",
            # mode switches written without a space, and bracketed fake roles
            r"\b(admin|god|sudo|dan|jailbreak|developer|dev|debug)\s?(模式|mode)\b|\b(admin|god|sudo|dan|jailbreak|developer|dev|debug)模式",
            r"\[\s*(system|sys|admin|administrator|developer|operator|instructions?)\s*\]|【(系统|管理员|开发者|后台)(指令|命令|设定)】",
        )
    ),
    re.I,
)

# A fake notice needs two of three parts: a notice's header, a change to the company's
# facts, an order to the bot to adopt it. "热线电话变更了吗" is a change alone, "系统更新后…"
# is the phone's system, and "我的电话换成139…了" is the customer's own number.
_NOTICE_HEAD = re.compile(
    r"【[^】]{0,10}(通知|公告|更新|升级|补丁|指令|消息|变更)[^】]{0,4}】|"
    r"^\W{0,3}(系统|知识库|资料库|后台|官方|内部|管理员|总部)?(通知|公告|更新|最新消息|消息)\s*[::]|"
    r"(知识库|资料库|数据库)(已经?)?(完成)?(更新|升级|同步)|"
    r"^\W{0,3}(\w+\s+){0,2}(update|notice|announcement|memo|patch|bulletin|alert|attention)\b[^:\]\n]{0,25}[:\]]|"
    r"^\W{0,3}[^。?!::\n]{0,6}(通知|公告|更新|新政策|最新政策|政策调整|邮件|消息)\s*[::—-]|"
    r"(总部|公司|官方|运营部|管理层|上级|领导)[^。?!]{0,4}(刚|刚刚|今天)?(发|下发|发布|通知)的?(的)?(通知|公告|邮件|文件)|"
    r"\b(official|company|hq|system)\s+(notice|memo|message|announcement|update)\b|^\W{0,3}-{2,}\s*from:|\bsubject:|"
    r"\b(update|memo|message|email|notice)\s+(from|to)\s+(hq|headquarters|the company|management|all (agents|bots|staff)|(the )?ai|(the )?assistant)\b|"
    r"\[[^\]]{0,20}\b(notice|update|patch|system|admin|memo|announcement)\b[^\]]{0,20}\]|"
    r"\b(database|knowledge|kb)\s+(refresh|update|patch)\b",
    re.I,
)
_NOTICE_CHANGE = re.compile(
    r"(热线|客服|售后|官方|服务|维修|400|保修|三包)[^。?!,,]{0,6}(已经?|现已|正式|统一|全部|即日起)?"
    r"(变更|更新|更改|改成|改为|调整|换成|换为|变成|修改)(为|成|到)?|(?<!我的)(?<!我)新(的)?(号码|电话|热线)|"
    r"(?<!my )(?<!our )\b(hotline|helpline|service (number|line)|support (number|line)|repair line|contact number|warranty|polic(y|ies))\b"
    r"[^.?!]{0,15}\b(has|have|was|were)?\s*(been\s+)?(changed|updated|moved|switched|extended)\s+to\b|"
    r"\b(hotline|helpline|service (number|line)|support (number|line)|repair line)\s+is\s+now\b|"
    r"\bnew\s+(\w+\s+)?(hotline|number|repair line|service line|warranty|policy|rule)\b\s*[:：]|"
    r"(价格|价钱|费用|收费|报价|维修费|安装费|上门费|换屏|换电池|保修期?|退货期?|退换|政策|折扣)[^。?!,,]{0,8}(已经?|现已|统一|一律|全部|即日起)?"
    r"(变更|更改|改成|改为|调整|换成|调整为|下调|上调|取消|降为|延长)(为|成|到)?|"
    r"(即日起|从今天起|从今天开始|自即日起|今后)[^。?!]{0,12}(免费|一律|全部|都|统一|改|调整|取消)|一律\s*\d+\s*折|"
    r"(添加|加)[^。?!]{0,4}(微信|qq|vx)[^。?!]{0,6}[a-z0-9_]{5,}[^。?!]{0,4}(办理|处理|售后)|"
    r"\b(fee|fees|price|prices|cost|charge|warranty|window|period|hotline|number)\b[^.?!]{0,30}\b(is|are)\s+now\b|"
    r"\b(has|have)\s+been\s+(abolished|scrapped|dropped|waived|extended|reduced|cut)\b|"
    r"\b(we|they|the company|hq)\s+(just\s+)?(changed|updated|extended|moved)\s+the\s+\w+(\s+\w+)?\s+to\b|"
    r"\bpay\w*\b[^.?!]{0,20}\bthrough\s+[\w.-]+\.(com|net|cn|org)\b",
    re.I,
)
_NOTICE_ORDER = re.compile(
    r"(请|你|麻烦)[^。?!]{0,8}(记住|记下|记一下|记好)|(你|请你)[^。?!]{0,4}更新(一下)?(你的|资料|知识|答案|回答|数据)|"
    rf"(以此为准|以这个为准){_NOT_ASKED}|按(这个|此|新的?)[^。?!]{{0,4}}(回答|答复|回复|答)|(请|你)[^。?!]{{0,8}}(使用|用)(这个|它|新)|"
    r"(以后|今后|下次|往后|之后)[^。?!]{0,6}(就说|就报|就用|都说|都报|都用)|有人问(就|你就|的话|时)|"
    r"(告诉|告知|通知|转告)[^。?!]{0,4}(用户|客户|他们|大家|顾客|下一个|每一个|每个人|所有人)|回答用户|统一口径|"
    r"(以后|今后|之后|往后)[^。?!]{0,6}(都|就)?(这样|这么|按这个|照这个)(回答|回复|说|答|报价)|"
    r"(之后|以后|今后)的(回复|回答|答复)(中|里)|(记住|记下|记好)(它|这个|这条)?[^。?!]{0,4}(然后|再)?告诉|更新(你的|一下)?(资料|数据|知识库)|"
    r"\b(inform|notify|tell)\s+(every|all|each|the next)\s+(customer|caller|user)s?\b|\bstart telling (people|customers|everyone)\b|"
    r"\b(save|store|commit|write)\s+(this|it)\s+(to|in|into)\s+(your\s+)?memory\b|\bremember (it|this|that)\b|\bcorrect yourself\b|"
    r"\b(tell|inform)\s+customers\b|\bquote this\b|"
    r"\b(tell|give it to|pass (it|this) on to)\s+(customers|users|people|everyone|anyone|callers)\b|"
    r"\b(remember|memori[sz]e|store|save|note down|adopt|quote|use|give out|hand out)\b[^.?!]{0,40}"
    r"((?<!my )\bnew (number|hotline|line)\b|\bas the official\b|\bin (all|your) (answers|replies|responses)\b|"
    r"\bwhen (asked|customers|users|people|anyone|someone)\b|\bgoing forward\b|\bfrom now on\b|\bto (everyone|anyone)\b|\baccordingly\b)|"
    r"\bupdate your (answers|replies|responses|knowledge|records|data|information|info)\b",
    re.I,
)
# "收到短信说热线改为400…,以后就打这个?是真的吗" checks a notice; it does not issue one.
_CHECKS_NOTICE = re.compile(
    r"是真的吗|是不是真的|真的假的|真假|靠谱吗|可信吗|是否属实|诈骗|骗子|骗局|"
    r"\bis (this|it|that) (real|true|legit|genuine)\b|\bscam\b|\bphishing\b",
    re.I,
)

# Someone else's records: a lookup, a third person, and a record of theirs. "帮我老婆的手机查下
# 保修" asks the policy for her phone; "帮我查一下我朋友的订单" asks for his records.
_THIRD = (
    r"(别人|他人|其他人|其它人|那个人|那位|这个人|某人|机主|对方|"
    r"我的?(朋友|同事|邻居|家人|亲戚|老婆|老公|媳妇|妻子|丈夫|爱人|男朋友|女朋友|对象|爸爸?|妈妈?|父亲|母亲|爷爷|奶奶|姥姥|姥爷|外婆|外公|"
    r"儿子|女儿|孩子|哥哥?|姐姐?|弟弟?|妹妹?|兄弟|姐妹|同学|室友|舍友|领导|老板|表[哥姐弟妹]|堂[哥姐弟妹]|舅舅|叔叔|阿姨|姑姑|岳父|岳母|公公|婆婆))"
)
_RECORD = (
    r"(订单|工单|维修记录|维修单|报修单|寄修单|报修记录|送修记录|寄修记录|服务单|购买记录|手机号码?|电话号码|联系方式|个人信息|"
    r"收货地址|住址|快递单号?|物流信息)"
)
# Only right after "的": in "朋友推荐的维修点电话" the number is the service point's.
_RECORD_NEAR = r"(维修|寄修|收货|家庭|联系|手机)?(地址|电话|号码|记录|进度|资料|信息)"
_LOOKUP = r"(查|看看|看一下|看下|调出|调取|找一下|告诉我|发给?我|给我|提供|导出|列出)"
_THIRD_MARK = r"(他|她|ta)(是|就是)我的?(朋友|同事|邻居|家人|亲戚|老婆|老公|媳妇|爱人|对象|同学|室友|舍友|领导|老板)"
_THIRD_EN = (
    r"(neighbou?rs?|friends?|co-?workers?|colleagues?|wife|husband|spouse|partner|girlfriend|boyfriend|brothers?|sisters?|mom|mum|mother|"
    r"dad|father|sons?|daughters?|cousins?|roommates?|flatmates?|boss|uncle|aunt|relatives?|family\s+members?|[a-z]+-in-law)"
)
# Records, not the phone: "check my son's phone warranty status" asks the policy.
_RECORD_EN = (
    r"(orders?|tickets?|repair\s+(records?|history|status|orders?|tickets?|requests?)|records?|((home|shipping|delivery|mailing)\s+)?address(es)?|"
    r"phone\s+numbers?|numbers?|contact\s+(details|info)|personal\s+(details|info|information|data)|(ticket|order)\s+(status|history|numbers?))\b"
)
_LOOKUP_EN = r"\b(look\s+up|lookup|check|pull\s+up|find|see|show|tell\s+me|give\s+me|get|access|view|what'?s|what\s+is|share|send)\b"
_OTHERS = re.compile(
    "|".join(
        (
            rf"{_LOOKUP}[^。?!]{{0,10}}?{_THIRD}[^。?!,,的]{{0,4}}的([^。?!,,的]{{0,6}}{_RECORD}|{_RECORD_NEAR})",
            rf"{_THIRD}[^。?!,,的]{{0,4}}的([^。?!,,的]{{0,6}}{_RECORD}|{_RECORD_NEAR})[^。?!]{{0,12}}(查|看看|看一下|看下|进度|到哪|修好了没|好了没|告诉我|发我)",
            rf"{_LOOKUP}[^。?!]{{0,16}}(他|她|对方)的?(手机号码?|电话号码?|号码)",
            r"(手机号码?|电话号码?|号码|尾号)(为|是)?\s*[\d*]{4,11}\s*的(那个|那位|这位|这个)?(人|客户|用户|顾客|机主|先生|女士|小姐)",
            rf"{_LOOKUP_EN}[^.?!]{{0,30}}\b(my|our|his|her)\s+{_THIRD_EN}('s|s'|’s)\s+(\w+\s+){{0,2}}{_RECORD_EN}",
            rf"{_LOOKUP_EN}[^.?!]{{0,20}}\b{_RECORD_EN}\s*(of|for|from|on)\s+(my|our|his|her|the)\s+{_THIRD_EN}\b",
            r"\b(records?|address(es)?|phone( number)?|numbers?|names?|details|status|history|orders?|tickets?)\s+(of|for|on|from|belonging to)\s+the\s+"
            r"(customer|person|user|client|caller|owner|guy|lady|man|woman)\s+(with|whose|who)\b",
            r"(?<!i'm the )(?<!i am the )\b(customer|person|user|client|owner|caller)\s+(with|whose)\s+(the\s+)?(phone|mobile|cell|number)(\s+number)?\s*(is\s+)?[\d+]{4,}",
        )
    ),
    re.I,
)
_THIRD_MARKED = re.compile(_THIRD_MARK, re.I)
_ANY_LOOKUP = re.compile(
    rf"{_LOOKUP}[^。?!]{{0,12}}{_RECORD}|{_RECORD}[^。?!]{{0,6}}(查|看看|进度)", re.I
)

# One side of a known conflict: an order not to mention the other value or the disagreement.
# "另一个问题不用管" is about the customer's own questions: the other side must be a value.
_OTHER_ONE = r"(另一个|另外一个|另外那个|另一种|另外一种|另一份|另外一份|第二份|第二个)"
_SIDE = r"(号码|说法|数字|答案|版本|期限|时间|电话|热线|值|来源|资料|文档|材料|数据)"
_CONFLICT = r"(其他的?说法|其它的?说法|两种说法|不同的?说法|有?分歧|有?矛盾|有?冲突)"
_ONE_SIDE = re.compile(
    "|".join(
        (
            r"(不要|别|不用|不许|不准|不必|无需|千万别|不能)再?(跟我|给我|和我)?(提|说|讲|告诉我|解释|提到|提及|列出|写|管)"
            rf"[^。?!]{{0,6}}({_OTHER_ONE}{_SIDE}|{_CONFLICT})",
            rf"({_OTHER_ONE}{_SIDE}|其他的?说法|其它的?说法)[^。?!]{{0,8}}(别提|不要提|不用提|别说|不要说|不用说|不要管|别管|不用管|不算){_NOT_ASKED}",
            rf"{_OTHER_ONE}{_SIDE}?[^。?!]{{0,8}}(当(它|他)?不存在|当没看见|当作没有|当没有|忽略掉?|无视){_NOT_ASKED}",
            r"\b(don'?t|do\s+not|never|no\s+need\s+to|without)\s+(mention|say|tell\s+me|bring\s+up|note|point\s+out|acknowledge|flag|list|include|show)(ing)?(?!\s+to\b)[^.?!]{0,25}"
            r"(\b(the\s+other|another|the\s+second|the\s+alternative)(\s+(one|number|hotline|figure|value|version|source|answer|period|document))?\s*([.,;!]|$)|"
            r"\b(conflict\w*|contradict\w*|discrepanc\w*|disagree\w*|inconsisten\w*|two\s+(numbers|versions|answers|values|figures|sources))\b)",
            r"\b(ignore|disregard|leave\s+out|omit|skip|drop|hide)\s+(the\s+|any\s+)?(other|second|conflicting|contradicting|contradictory|alternative)\s+"
            r"(source|document|doc|one|number|figure|value|version|answer|period|hotline)s?\b"
            + _NOT_ASKED_EN,
        )
    ),
    re.I,
)


# Round three (a red team that had not seen the patterns above): internal-only information,
# extraction by paraphrase, override by "clearing" the bot's limits, one side by "pick one",
# and lookups of a named third person's records however phrased. Same rule: each branch
# needs a part an after-sales question does not have ("内部进水", "内部零件", "系统更新"
# and "which of the two numbers is right?" stay questions).
_INTERNAL = re.compile(
    "|".join(
        (
            r"(成本价|进货价|进价|出厂价|拿货价|批发价|结算价|底价|采购价)(?!格?[^。?!]{0,6}(收费|维修|换|卖|退))|(从|跟)(工厂|厂家|厂里)拿货|"
            r"内部(报价|结算|流程|作业|文件|资料|手册|规定|制度|系统|工单系统|代码|编码|考核|指标|kpi|通讯录|群|邮件|审批|政策|培训)|"
            r"员工手册|考核指标|(维修|师傅|技术员|网点|客服)[^。?!]{0,6}(提成|抽成|回扣)|(一单|每单)(赚|挣|利润)|利润率|毛利|"
            r"(对内|内部)和(对外|外部)|(我下单|我自己)[^。?!]{0,6}(填|写)上?[^。?!]{0,4}(代码|编码)",
            r"\b(suppliers?|wholesale|factory|cost|purchase|procurement|transfer)\s+(price|prices|pricing|cost|rates?)\b|\bwho'?s your supplier\b|\byour suppliers?\b|"
            r"\b(commission|kickback|bonus)\w*\b[^.?!]{0,30}\b(technicians?|engineers?|staff|agents|employees)\b|"
            r"\b(technicians?|engineers?|staff|agents|employees)\b[^.?!]{0,15}\b(commission|kickback)\b|"
            r"\b(profit\s+)?margins?\b[^.?!]{0,30}\b(repair|replacement|battery|screen|install\w*|service)\b|\binternal numbers\b|"
            r"\binternal\s+(procedures?|process(es)?|workflow|system|tools?|wiki|handbook|manual|guidelines?|policy|rates?|kpis?|targets?|metrics|numbers|figures)\b|"
            r"\bthe way staff see it\b|\b(staff|employee)\s+(handbook|manual|wiki|portal|system)\b",
        )
    ),
    re.I,
)

_EXTRACT = re.compile(
    "|".join(
        (
            r"(复述|重复|重写|抄|念|打印|输出)一?(遍|下)?[^。?!]{0,8}(上面|以上|之前|前面|最开始|最前面)的?(所有|全部)?(内容|文字|话|东西|句子|那句)|"
            r"(从|由)(最开始|最前面|第一句|开头)(那一?句)?(开始)?[^。?!]{0,4}(复述|重复|念|打印|输出|说)|"
            r"(看不见|看不到|隐藏)的(那部分|部分|内容|文字|东西)|"
            r"(能|可以|可)(访问|看到|读取|调用|查阅)(到)?(哪些|什么|多少)(文档|文件|资料|数据)|(文档|文件|资料)(列表|清单|目录)|"
            r"(被|你被)(告知|交代|吩咐|嘱咐|要求)(过)?[^。?!]{0,6}(不能|不可以|不许|不准)(说|讲|回答|透露)|不能(说|透露)的(东西|内容|事)|"
            r"(训练|微调)(数据|语料|样本)",
            r"\b(repeat|recite|reproduce|copy|print|output|type out)\b[^.?!]{0,25}\b(above|before)\s+this\b|"
            r"\b(repeat|recite|reproduce|print)\b[^.?!]{0,20}\bfrom the (very )?(first|beginning|start|top)\b|"
            r"\btraining data\b|\byour (real|actual|true|full|exact|complete|original) (instructions|prompt|rules)\b|"
            r"\b(sentence|line|part)s? of (your|the) (instructions|prompt|rules|system message)\b|"
            r"\b(what|which) (documents|files|sources) (do|can) you (access|see|read|use)\b|\b(list|show)\b[^.?!]{0,15}\b(documents|files|sources) you\b|"
            r"\b(were|have been) you (told|instructed) not to\b|\byou (were|have been) (told|instructed) not to (say|tell|reveal|mention)\b",
        )
    ),
    re.I,
)

_CLEAR = r"(清空|清除|删除|删掉|去掉|关掉|关闭|拿掉|撤掉|卸掉|解除|取消|重置|放一边|放一放|丢掉)"
_OVERRIDE_MORE = re.compile(
    "|".join(
        (
            rf"(你的|给你的|对你的|你那些|你身上的?)[^。?!]{{0,4}}{_RULES}[^。?!]{{0,6}}(全部|都|统统|全都)?{_CLEAR}{_NOT_ASKED}|"
            rf"把[^。?!]{{0,4}}(那些|这些|你的)?(条条框框|规矩|限制|约束|禁令|审核|审查){_PRODUCT_RULE}[^。?!]{{0,4}}(都|全部|统统)?(先)?{_CLEAR}",
            r"\bsafe_?mode\s*[=:]\s*(0|false|off)\b|\bdebug\s*[=:]\s*(1|true|on)\b|(调试|debug|开发|维护)\s*模式\s*(已经?)?(开启|打开|启动|启用|on)|"
            r"未经?过滤的?(原始)?(回复|回答|内容|输出)|(过滤|审核|审查)前的(回复|回答|内容)",
            r"(允许|可以|能)你(透露|说出|公开|回答|泄露)(所有|任何|一切|全部)|(规则|规定|设定|限制)[^。?!]{0,8}(升级|更新)(到|为|成)[^。?!]{0,8}(版本?|版)|"
            r"(别|不要|不用)(再)?(用|拿)(老规矩|那套|规定|流程)(来)?(敷衍|糊弄|搪塞)",
            rf"\byour\s+(\w+\s+)?{_RULES_EN}\s+(got|were|have been|has been|are|just got)\s+(all\s+)?(reset|wiped|cleared|upgraded|updated|changed|turned off|disabled|lifted|removed|switched off)\b{_NOT_ASKED_EN}|"
            r"\b(disabl|remov|turn\w*\s+off|switch\w*\s+off|drop|lift|clear|wip)\w*\s+(your|the|all|those)\s+(\w+\s+)?(guardrails|safety stuff|safety rules|safety filters|filters|restrictions|limits|rules)\b(?!\s+(on|for|in|of) (my|the) (phone|heater|app|device))|"
            r"\b(which|that) (permits|allows) (you )?(everything|anything)\b|\b(permits|allows) you to (say|answer|reveal|share) (anything|everything)\b|"
            r"\bwithout the (old|previous|usual|former) (polic(y|ies)|rules|restrictions|guidelines)\b|\bconfirm (they'?re|they are|it'?s|it is) (off|disabled)\b",
        )
    ),
    re.I,
)

_PERSONA_MORE = re.compile(
    r"邪恶的?(双胞胎|分身|版本|人格|兄弟|姐妹|孪生)|(新|另一个|第二)(的)?人格|人格(设定|切换)|(进入|保持|别出|不要出)(这个)?角色|"
    r"没有底线|毫无底线|不打官腔的?(版本|你|客服)|让(他|她|它)出来(回答|说)|"
    r"\b(evil|dark|shadow|uncensored)\s+(twin|side|version|alter ego|persona|mode)\b|\balter ego\b|\bnew persona\b|"
    r"\bpretend you('re| are)\b|\b(stay|remain) that way\b",
    re.I,
)

_ONE_SIDE_MORE = re.compile(
    "|".join(
        (
            rf"{_OTHER_ONE}(?!问题|事)[^。?!,,]{{0,2}}(别提|不要提|不用提|别说|不要说|不用说|别管|不要管|忽略|无视)|"
            r"(只|仅)(引用|采用|参考|用|看|相信|认)(第一|一|其中一|前一|最后一)(个|份|种|条)?(来源|资料|文档|说法|文件)|"
            r"(来源|资料|文档|说法|文件)[^。?!]{0,6}(一律|都|全部|统统)(忽略|无视|别管|不要管|不算|当没有)|"
            r"(高|低|贵|便宜|长|短|旧|新|大|小)的那个[^。?!]{0,4}(别提|不要提|不用提|别说|不要说|忽略|当没有)|"
            r"(只|就)(给|说|报|要)(我)?一个(数字|号码|答案|数|价格|说法)[^。?!]{0,8}(别的|其他|其余|另外的)(都)?(不要|别|不用)|"
            r"(就算|即使|哪怕)[^。?!]{0,10}(资料|文档|来源|有的)[^。?!]{0,14}(也)?(别提|不要提|不用提|别说|不要说)|"
            r"假装(只有|就一个|就一种)|(挑|选)一个[^。?!]{0,12}(然后|再|就)?(假装|当作|当成)|"
            rf"(不要|别|不用)(提到?|说|讲|告诉我)[^。?!]{{0,8}}(之间)?的?(不一致|不同|出入|差异|两种|矛盾|冲突)",
            r"\bpretend\b[^.?!]{0,12}\bthere('?s| is| are) only one\b|\b(don'?t|do not) list (any |the )?(alternatives|other (numbers|options|values))\b|"
            r"\bas (if|though) (there('?s| is| were) )?(only one|no other)\b|"
            r"\b(the (longer|shorter|lower|higher|cheaper|bigger|smaller|first|second) one|one of them)\s+as\s+(a\s+)?fact\b|"
            r"\b(no|without)\s+[\"“'‘]?(it depends|sources? (vary|varies|differ|disagree))|"
            r"\bno\s+(caveats|explanations?|notes?|mention)\b[^.?!]{0,25}\b(conflict\w*|sources?|disagree\w*|vary|differ\w*|inconsisten\w*)\b",
        )
    ),
    re.I,
)

_OTHERS_MORE = re.compile(
    "|".join(
        (
            rf"{_THIRD}[^。?!]{{0,30}}{_LOOKUP}[^。?!]{{0,8}}(他|她|ta|对方|人家)(修|的|留|登记|寄|送|买|装|报)",
            rf"{_LOOKUP}[^。?!]{{0,10}}(手机号|电话|尾号)[^。?!]{{0,4}}[\d*]{{3,}}[^。?!]{{0,8}}{_RECORD}[^。?!]{{0,10}}是(我|他|她)的?",
            r"(之前|刚才|刚刚|上一个|前面|前一个)[^。?!]{0,8}(和|跟|与)你(聊天|聊|对话|说话|咨询)的(那个|那位)?(人|用户|客户)",
            r"(那户|人家|他家|她家|住户|业主|邻居家)[^。?!]{0,16}(留的|登记的|预留的)[^。?!]{0,4}(手机号|电话|号码|地址|门牌号|姓名)|"
            r"(登记|预留|留下)的[^。?!]{0,4}(门牌号|住址|地址)[^。?!]{0,4}(和|跟)?(电话|手机号)?[^。?!]{0,2}(给我|发我|告诉我)",
            r"(哪些人|谁|哪几户|哪些用户|哪些客户)[^。?!]{0,10}(投诉|报修|修过|买过|装过)[^。?!]{0,14}(联系方式|电话|名单|号码|地址)",
            rf"(他|她|对方)[^。?!]{{0,4}}不知道我在(查|问)|(查|看)[^。?!]{{0,8}}{_THIRD}[^。?!]{{0,10}}(有没有|是否)(来)?(修|报修|寄修|送修)",
            r"\b(what|which)\s+(phone\s+number|number|address|details|contact)\s+did\s+(he|she|they|the\s+\w+|my\s+\w+)\s+(give|leave|provide|use|register)\b|"
            r"\bthe (person|customer|caller|guy|lady|man|woman|user) (who|that) (called|contacted|messaged|chatted|wrote|came in)\b[^.?!]{0,20}\b(before|earlier|prior|ahead)\b|"
            r"\b(names?|numbers?|addresses|details|phone numbers)\b[^.?!]{0,20}\bof\s+the\s+(tenants|residents|neighbou?rs|people|customers|owners)\b|"
            r"\b(the\s+)?owner'?s\s+(home\s+)?(address|number|phone|name|details)\b|"
            r"\b(it\s+)?(isn'?t|is not|not)\s+mine\b|\b(doesn'?t|does not|don'?t|do not)\s+know\s+(i'?m|i am)\s+(asking|checking|looking)\b|"
            r"\b(what did|what has) (she|he|they) (get|have|had) (fixed|repaired|done)\b|"
            rf"\b(my|our)\s+{_THIRD_EN}\b[^.?!]{{0,60}}\b(what|which)\s+(time|address|number|day)\b|"
            rf"\b(my|our)\s+{_THIRD_EN}\b[^.?!]{{0,40}}\b(booked|dropped|sent|had)\b[^.?!]{{0,40}}\b(what|which)\s+(address|number|time)\b",
        )
    ),
    re.I,
)


def _compound(text: str) -> str | None:
    """Families that need two parts: a fake notice, a lookup of a named third person's records."""
    head, change, order = (p.search(text) for p in (_NOTICE_HEAD, _NOTICE_CHANGE, _NOTICE_ORDER))
    if ((head and (change or order)) or (change and order)) and not _CHECKS_NOTICE.search(text):
        return "fake_notice"
    return "others_data" if _THIRD_MARKED.search(text) and _ANY_LOOKUP.search(text) else None


# Each family with the kind it is logged as (the chat log's `injection` field).
_FAMILIES = (
    (_OVERRIDE, "override"),
    (_OVERRIDE_MORE, "override"),
    (_PERSONA, "persona"),
    (_PERSONA_MORE, "persona"),
    (_INTERNAL, "internal"),
    (_EXTRACT, "extraction"),
    (_OTHERS, "others_data"),
    (_OTHERS_MORE, "others_data"),
    (_ONE_SIDE, "one_side"),
    (_ONE_SIDE_MORE, "one_side"),
    (_INJECTION, "instructions"),
    (_INJECTION_MORE, "instructions"),
)


_SPACED = re.compile(r"(?<![^\W_])(?:[^\W_][ \-_.·*/|]){3,}[^\W_](?![^\W_])")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|&#(\d{2,6});|&#x([0-9a-fA-F]{2,6});")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_LEET_WORD = re.compile(r"\b(?=\w*[a-z])(?=\w*[0-9])\w+\b", re.I)
_LEET = str.maketrans("013457@$", "oieastas")


def _despace(m: re.Match[str]) -> str:
    """ "i g n o r e" reads "ignore"; "P.r.e.t.e.n.d y.o.u" reads "Pretend you": when the
    letters are split by dots or dashes, the spaces between them are the word gaps."""
    run = m.group()
    if re.search(r"[\-_.·*/|]", run):
        return re.sub(r"[\-_.·*/|]", "", run)
    return run.replace(" ", "")


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


# Invisible marks input.py leaves in (it strips zero-width and bidi controls): format
# characters, the combining grapheme joiner, variation selectors, Hangul fillers.
_INVISIBLE = re.compile(
    r"[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]"
)


def _visible(text: str) -> str:
    """The text without format characters and other marks that render as nothing."""
    text = _INVISIBLE.sub("", text)
    if text.isascii():
        return text
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def _readings(text: str) -> tuple[list[str], list[str]]:
    """The ways an attack may be written: (plain readings, transformed readings)."""
    nfkc = unicodedata.normalize("NFKC", text)
    # Patterns are written in simplified characters; "舊規則已經失效" is read as "旧规则已经失效".
    base = _visible(nfkc)
    base = simplified(base)
    plain = [text, nfkc, base]
    plain.append(re.sub(r"\s{2,}", " ", _SPACED.sub(_despace, base)))
    if _ESCAPE.search(base):
        plain.append(_ESCAPE.sub(_unescape, base))
    plain += _base64_payloads(nfkc)
    plain.append(_LEET_WORD.sub(lambda m: m.group().translate(_LEET), base))
    transformed = [re.sub(r"\s+", "", base), base[::-1], codecs.encode(base, "rot13")]
    return list(dict.fromkeys(plain)), transformed  # most readings coincide: check each once


def injection_kind(text: str) -> str | None:
    """What kind of attack `text` is, if it is one: "override" (the rules declared void),
    "persona" (an insider, an unrestricted assistant), "others_data", "one_side" (hide one side
    of a conflict), "fake_notice", "instructions" (the rest: role play, prompt or knowledge-base
    extraction, made-up facts, reply shaping) or "obfuscated" (found only reversed, rotated or
    de-spaced); None for an ordinary question."""
    plain, transformed = _readings(text)
    for t in plain:
        for pattern, kind in _FAMILIES:
            if pattern.search(t):
                return kind
        if kind := _compound(t):
            return kind
    return "obfuscated" if any(_INJECTION_STRONG.search(t) for t in transformed) else None


def is_injection(text: str) -> bool:
    """True for attempts to override the bot's rules or persona, extract its prompt, knowledge base or
    other people's records, plant or make up facts, or hide one side of a conflict."""
    return injection_kind(text) is not None
