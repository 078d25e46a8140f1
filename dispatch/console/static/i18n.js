// The console's strings in English and Hindi; extensions add theirs with Dispatch.i18n.add.
const tables = {
  en: {
    'app.title': 'Crisis dispatch',
    'login.title': 'Sign in', 'login.username': 'Username', 'login.password': 'Password',
    'login.submit': 'Sign in', 'login.failed': 'Sign-in failed: {detail}',
    'nav.alerts': 'Alerts', 'nav.queue': 'Unresolved queue', 'nav.intake': 'Manual intake',
    'logout': 'Sign out', 'lang.other': 'हिन्दी',
    'conn.live': 'Live', 'conn.connecting': 'Connecting…', 'conn.reconnecting': 'Reconnecting…',
    'conn.offline': 'Offline',
    'sound.enable': '🔇 Enable sound', 'sound.on': '🔊 Sound on',
    'alarm.banner': '⚠ {n} new alert(s) waiting for acknowledgement',
    'drill': 'DRILL MODE ×{n}',
    'list.empty': 'No open alerts in your area.', 'list.title': 'Open alerts',
    'detail.none': 'Select an alert to see its details.',
    'ack': 'Acknowledge', 'acked_by': 'Acknowledged by {who}',
    'status.new': 'New', 'status.acknowledged': 'Acknowledged', 'status.dispatched': 'Dispatched',
    'status.en_route': 'En route', 'status.on_scene': 'On scene',
    'status.person_found': 'Person found', 'status.closed': 'Closed',
    'cat.suicide_risk': 'Suicide risk', 'cat.self_harm': 'Self-harm',
    'cat.threat_to_others': 'Threat to others', 'cat.other': 'Other',
    'unresolved': 'Unresolved (state cell queue)', 'received': 'Received', 'detected': 'Detected',
    'station': 'Station', 'level': 'Escalation level {n}',
    'person': 'Person', 'content': 'Content', 'timeline': 'Timeline', 'map': 'Map',
    'actions': 'Actions', 'linked': 'Earlier alerts about the same person',
    'name': 'Name', 'handle': 'Handle', 'profile': 'Profile', 'phones': 'Phones',
    'emails': 'E-mails', 'platform': 'Platform', 'kind': 'Kind', 'text': 'Text', 'urls': 'Links',
    'updates': 'Updates', 'address': 'Address', 'accuracy': 'accuracy ±{m} m',
    'team': 'Team', 'vehicle': 'Vehicle', 'note': 'Note', 'add_note': 'Add note',
    'send': 'Send', 'cancel': 'Cancel', 'move_to': 'Move to: {s}',
    'dispatch.ask': 'Who was sent? (team required)', 'confirm': 'Confirm',
    'map.none': 'No location or station area to draw.', 'map.legend': 'Last position ● accuracy ◯ · station area shaded',
    'ev.created': 'Alert received from {actor} ({source})',
    'ev.resolved': 'Routed to {station} ({method})',
    'ev.unresolved': 'No station found: waiting in the state cell queue',
    'ev.signal': 'New signal: {what}', 'ev.signal.location': 'position {lat}, {lon} ±{acc} m',
    'ev.signal.content': 'new content',
    'ev.handover': 'Handed over from {from} to {to}', 'ev.assigned': 'Assigned to {to} by {actor}',
    'ev.acknowledged': 'Acknowledged by {actor}', 'ev.status': 'Status {from} → {to} by {actor}',
    'ev.note': 'Note by {actor}: {text}', 'ev.escalated': 'Escalated to level {level}',
    'ev.escalation_started': 'Escalation started', 'ev.escalation_stopped': 'Escalation stopped',
    'ev.notification': 'Notification to {to} by {channel}: {status}',
    'ev.delivery': 'Delivery report: {status} ({channel} → {to})',
    'ev.closed': 'Closed by {actor}: {outcome}', 'ev.reopened': 'Reopened by {actor}',
    'ev.updated': 'Updated by {actor}', 'ev.duplicate': 'Repeat of an earlier alert',
    'intake.title': 'Alert received by phone or e-mail', 'intake.category': 'Category',
    'intake.reported_by': 'Reported by (caller, e-mail)', 'intake.name': 'Person’s name',
    'intake.phone': 'Person’s phone', 'intake.text': 'What was said or posted',
    'intake.lat': 'Latitude', 'intake.lon': 'Longitude', 'intake.accuracy': 'Accuracy (m)',
    'intake.address': 'Address or place', 'intake.station': 'Station (optional: found from the location)',
    'intake.notes': 'Notes', 'intake.submit': 'Create alert',
    'intake.done': 'Alert #{id} created: {where}',
    'queue.title': 'Alerts without a station', 'queue.empty': 'The queue is empty.',
    'queue.assign': 'Assign', 'queue.reason': 'Reason', 'queue.choose': 'Choose a station…',
    'error': 'Error: {detail}',
  },
  hi: {
    'app.title': 'संकट डिस्पैच',
    'login.title': 'साइन इन', 'login.username': 'उपयोगकर्ता नाम', 'login.password': 'पासवर्ड',
    'login.submit': 'साइन इन', 'login.failed': 'साइन इन विफल: {detail}',
    'nav.alerts': 'अलर्ट', 'nav.queue': 'अनिर्धारित कतार', 'nav.intake': 'मैन्युअल प्रविष्टि',
    'logout': 'साइन आउट', 'lang.other': 'English',
    'conn.live': 'लाइव', 'conn.connecting': 'जुड़ रहा है…', 'conn.reconnecting': 'फिर से जुड़ रहा है…',
    'conn.offline': 'ऑफ़लाइन',
    'sound.enable': '🔇 ध्वनि चालू करें', 'sound.on': '🔊 ध्वनि चालू',
    'alarm.banner': '⚠ {n} नए अलर्ट स्वीकृति की प्रतीक्षा में',
    'drill': 'अभ्यास मोड ×{n}',
    'list.empty': 'आपके क्षेत्र में कोई खुला अलर्ट नहीं।', 'list.title': 'खुले अलर्ट',
    'detail.none': 'विवरण देखने के लिए अलर्ट चुनें।',
    'ack': 'स्वीकार करें', 'acked_by': '{who} द्वारा स्वीकृत',
    'status.new': 'नया', 'status.acknowledged': 'स्वीकृत', 'status.dispatched': 'टीम रवाना',
    'status.en_route': 'रास्ते में', 'status.on_scene': 'मौके पर',
    'status.person_found': 'व्यक्ति मिला', 'status.closed': 'बंद',
    'cat.suicide_risk': 'आत्महत्या का जोखिम', 'cat.self_harm': 'आत्म-क्षति',
    'cat.threat_to_others': 'दूसरों को खतरा', 'cat.other': 'अन्य',
    'unresolved': 'अनिर्धारित (राज्य प्रकोष्ठ कतार)', 'received': 'प्राप्त', 'detected': 'पता चला',
    'station': 'थाना', 'level': 'एस्केलेशन स्तर {n}',
    'person': 'व्यक्ति', 'content': 'सामग्री', 'timeline': 'घटनाक्रम', 'map': 'नक्शा',
    'actions': 'कार्रवाई', 'linked': 'इसी व्यक्ति के पिछले अलर्ट',
    'name': 'नाम', 'handle': 'हैंडल', 'profile': 'प्रोफ़ाइल', 'phones': 'फ़ोन',
    'emails': 'ई-मेल', 'platform': 'प्लेटफ़ॉर्म', 'kind': 'प्रकार', 'text': 'पाठ', 'urls': 'लिंक',
    'updates': 'अपडेट', 'address': 'पता', 'accuracy': 'सटीकता ±{m} मी',
    'team': 'टीम', 'vehicle': 'वाहन', 'note': 'टिप्पणी', 'add_note': 'टिप्पणी जोड़ें',
    'send': 'भेजें', 'cancel': 'रद्द करें', 'move_to': 'बदलें: {s}',
    'dispatch.ask': 'किसे भेजा गया? (टीम आवश्यक)', 'confirm': 'पुष्टि करें',
    'map.none': 'दिखाने के लिए कोई स्थान या थाना क्षेत्र नहीं।', 'map.legend': 'अंतिम स्थान ● सटीकता ◯ · थाना क्षेत्र छायांकित',
    'ev.created': '{actor} से अलर्ट प्राप्त ({source})',
    'ev.resolved': '{station} को भेजा गया ({method})',
    'ev.unresolved': 'कोई थाना नहीं मिला: राज्य प्रकोष्ठ कतार में',
    'ev.signal': 'नया संकेत: {what}', 'ev.signal.location': 'स्थान {lat}, {lon} ±{acc} मी',
    'ev.signal.content': 'नई सामग्री',
    'ev.handover': '{from} से {to} को सौंपा गया', 'ev.assigned': '{actor} द्वारा {to} को सौंपा गया',
    'ev.acknowledged': '{actor} द्वारा स्वीकृत', 'ev.status': 'स्थिति {from} → {to} ({actor})',
    'ev.note': '{actor} की टिप्पणी: {text}', 'ev.escalated': 'स्तर {level} तक एस्केलेट',
    'ev.escalation_started': 'एस्केलेशन शुरू', 'ev.escalation_stopped': 'एस्केलेशन रुका',
    'ev.notification': '{to} को {channel} से सूचना: {status}',
    'ev.delivery': 'डिलीवरी रिपोर्ट: {status} ({channel} → {to})',
    'ev.closed': '{actor} द्वारा बंद: {outcome}', 'ev.reopened': '{actor} द्वारा फिर खोला गया',
    'ev.updated': '{actor} द्वारा अद्यतन', 'ev.duplicate': 'पिछले अलर्ट की पुनरावृत्ति',
    'intake.title': 'फ़ोन या ई-मेल से प्राप्त अलर्ट', 'intake.category': 'श्रेणी',
    'intake.reported_by': 'सूचनाकर्ता (कॉलर, ई-मेल)', 'intake.name': 'व्यक्ति का नाम',
    'intake.phone': 'व्यक्ति का फ़ोन', 'intake.text': 'क्या कहा या पोस्ट किया गया',
    'intake.lat': 'अक्षांश', 'intake.lon': 'देशांतर', 'intake.accuracy': 'सटीकता (मी)',
    'intake.address': 'पता या स्थान', 'intake.station': 'थाना (वैकल्पिक: स्थान से निर्धारित)',
    'intake.notes': 'टिप्पणियाँ', 'intake.submit': 'अलर्ट बनाएँ',
    'intake.done': 'अलर्ट #{id} बना: {where}',
    'queue.title': 'बिना थाने के अलर्ट', 'queue.empty': 'कतार खाली है।',
    'queue.assign': 'सौंपें', 'queue.reason': 'कारण', 'queue.choose': 'थाना चुनें…',
    'error': 'त्रुटि: {detail}',
  },
};

let current = localStorage.getItem('dispatch.lang') === 'hi' ? 'hi' : 'en';

export function lang() { return current; }

export function setLang(value) {
  current = value === 'hi' ? 'hi' : 'en';
  localStorage.setItem('dispatch.lang', current);
  document.documentElement.lang = current;
}

export function add(language, entries) {
  tables[language] = Object.assign(tables[language] || {}, entries);
}

// t('key', {n: 3}): the current language, then English, then the key itself.
export function t(key, params) {
  const text = (tables[current] && tables[current][key]) ?? tables.en[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (params[name] ?? '') + '');
}

export function applyStatic(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
}
