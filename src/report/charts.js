(function(){
const D=JSON.parse(document.getElementById('series-data').textContent);
const root=document.getElementById('charts');
if(!root||!window.uPlot||!D.points.length)return;
const pal=['#0072b2','#d55e00','#009e73','#cc79a7','#e69f00','#56b4e9','#000000','#b8a600'];
const dash=[[],[],[],[],[10,5],[10,5],[10,5],[10,5],[3,4],[3,4],[3,4],[3,4]];
root.textContent='';
const bar=document.createElement('div');
let psel=null;
if(D.points.length>1){
  const l=document.createElement('label');l.textContent='sweep point ';
  psel=document.createElement('select');psel.id='chart-point';
  D.points.forEach((p,i)=>{const o=document.createElement('option');o.value=i;o.textContent=p.label;psel.appendChild(o)});
  l.appendChild(psel);bar.appendChild(l);
}
root.appendChild(bar);
const shade={hooks:{draw:[u=>{const c=u.ctx;c.save();
  for(const w of D.windows){const x0=u.valToPos(w[0],'x',true),x1=u.valToPos(w[1],'x',true);
    const l=Math.max(x0,u.bbox.left),r=Math.min(x1,u.bbox.left+u.bbox.width);if(r<=l)continue;
    c.fillStyle='rgba(120,120,120,0.15)';c.fillRect(l,u.bbox.top,Math.max(r-l,2),u.bbox.height);
    c.fillStyle='#555';c.font=(12*devicePixelRatio)+'px sans-serif';c.fillText(w[2],l+3,u.bbox.top+14*devicePixelRatio)}
  c.restore()}]}};
const slots=[];
D.defaults.forEach((def,k)=>{
  const box=document.createElement('div');box.className='chart';
  const l=document.createElement('label');l.textContent='series ';
  const sel=document.createElement('select');sel.className='chart-column';
  D.columns.forEach((c,i)=>{const o=document.createElement('option');o.value=i;o.textContent=c.title;sel.appendChild(o)});
  sel.value=def;l.appendChild(sel);box.appendChild(l);
  const el=document.createElement('div');box.appendChild(el);root.appendChild(box);
  const slot={sel:sel,el:el,plot:null};slots.push(slot);
  sel.addEventListener('change',()=>draw(slot));
});
function draw(s){
  if(s.plot){s.plot.destroy();s.plot=null}
  const p=D.points[psel?+psel.value:0],c=+s.sel.value,col=D.columns[c];
  const series=[{label:'time (s)'}].concat(p.variants.map(v=>({label:v.name,stroke:pal[v.color%8],width:2,dash:dash[v.color%12],spanGaps:false})));
  const data=[p.t].concat(p.variants.map(v=>v.cols[c]));
  const w=Math.max(320,Math.min(1300,(root.clientWidth||1300)-20));
  s.plot=new uPlot({width:w,height:320,title:col.title,scales:{x:{time:false}},series:series,
    axes:[{label:'time (s)'},{label:col.unit,size:70}],plugins:[shade]},data,s.el);
}
function all(){slots.forEach(draw)}
if(psel)psel.addEventListener('change',all);
all();
window.scalesimCharts=slots;
})();
