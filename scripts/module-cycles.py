#!/usr/bin/env python3
# Prints the import cycles between the crate's modules (`use`/paths to another module, comments
# and test modules left out); exits non-zero when there is one. Parent and child modules may
# refer to each other. Usage: scripts/module-cycles.py [src]
import os,re,sys
root=sys.argv[1] if len(sys.argv)>1 else 'src'
mods={}
for dp,dn,fn in os.walk(root):
    for f in fn:
        if not f.endswith('.rs'): continue
        path=os.path.join(dp,f)
        rel=path[len(root)+1:-3]
        parts=rel.split('/')
        if parts[-1]=='mod': parts=parts[:-1]
        if parts==['lib']: parts=[]
        src=open(path).read()
        src=re.sub(r'#\[cfg\(test\)\]\s*mod tests \{.*', '', src, flags=re.S)
        src='\n'.join(l.split('//')[0] for l in src.split('\n'))
        mods['::'.join(parts)]=src
def resolve(cur, ref):
    segs=ref.split('::'); curp=cur.split('::') if cur else []
    if segs[0]=='crate': base=[]; segs=segs[1:]
    elif segs[0]=='super': base=curp[:-1]; segs=segs[1:]
    elif segs[0]=='self': base=curp; segs=segs[1:]
    else: return None
    while segs and segs[0]=='super': base=base[:-1]; segs=segs[1:]
    full=base+segs
    for i in range(len(full),0,-1):
        m='::'.join(full[:i])
        if m in mods: return m
    return None
edges={}
for m,src in mods.items():
    for ref in re.findall(r'\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)', src):
        t=resolve(m,ref)
        if t and t!=m and not t.startswith(m+'::') and not m.startswith(t+'::'):
            edges.setdefault(m,set()).add(t)
sys.setrecursionlimit(10000)
index={};low={};st=[];on=set();res=[];c=[0]
def sc(v):
    index[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
    for w in edges.get(v,()):
        if w not in index: sc(w); low[v]=min(low[v],low[w])
        elif w in on: low[v]=min(low[v],index[w])
    if low[v]==index[v]:
        comp=[]
        while True:
            w=st.pop();on.discard(w);comp.append(w)
            if w==v: break
        if len(comp)>1: res.append(comp)
for v in list(mods):
    if v not in index: sc(v)
for comp in res: print("cycle:", sorted(comp))
for a in sorted(edges):
    for b in sorted(edges[a]):
        if a in edges.get(b,()) and a<b: print("  2-cycle:",a,b)
sys.exit(1 if res else 0)
