// Tip line in the console: a "Tips" link for the offices that see tips (SP, DIG, state), and
// a live banner with the alarm when a high-sensitivity tip arrives, until someone opens it.
// Tip events carry only the reference, category, district and sensitivity: never the informant.
const D = window.Dispatch;
const TIP_ROLES = ['district', 'range', 'supervisor', 'admin'];

if (D) {
  D.i18n.add('en', {
    'tips.nav': 'Tips',
    'tips.high': 'High-sensitivity tip {ref} ({district}): assign it now',
    'tips.open': 'Open tips',
  });
  D.i18n.add('hi', {
    'tips.nav': 'सूचनाएँ',
    'tips.high': 'अति संवेदनशील सूचना {ref} ({district}): तुरंत आवंटित करें',
    'tips.open': 'सूचनाएँ खोलें',
  });

  const waiting = new Map(); // ref -> data of unassigned high tips seen live

  function banner() {
    let node = document.getElementById('tip-alarm');
    if (!waiting.size) {
      if (node) node.remove();
      return;
    }
    if (!node) {
      node = document.createElement('div');
      node.id = 'tip-alarm';
      node.className = 'alarm';
      node.setAttribute('role', 'alert');
      const main = document.getElementById('main');
      main.parentNode.insertBefore(node, main);
    }
    const [ref, data] = [...waiting.entries()][0];
    node.replaceChildren();
    const text = document.createElement('span');
    text.textContent = D.t('tips.high', { ref, district: data.district || '' });
    const link = document.createElement('a');
    link.href = '/tips';
    link.textContent = ` ${D.t('tips.open')}`;
    node.append(text, link);
  }

  // Only for the offices that see tips: hidden again when someone else signs in in this tab.
  D.navAdd('tips.nav', '/tips', { when: (user) => !!user && TIP_ROLES.includes(user.role) });
  D.on('ready', () => { waiting.clear(); banner(); });
  D.on('signed_out', () => { waiting.clear(); banner(); });

  D.on('tip.event', (msg) => {
    const data = msg.data || {};
    if (!data.ref) return;
    if (data.kind === 'tip.received' && data.sensitivity === 'high') {
      waiting.set(data.ref, data);
    } else if (['tip.assigned', 'tip.action', 'tip.closed'].includes(data.kind)) {
      waiting.delete(data.ref); // someone has it
    }
    // Its own reason to ring: the shell's check of unacknowledged alerts does not stop it.
    if (D.alarm) D.alarm.set(waiting.size > 0, 'tips');
    banner();
  });

  D.on('language', banner);
}
